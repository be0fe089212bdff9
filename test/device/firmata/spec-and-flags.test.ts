// The `firmata` device spec and the server's `--device-id` flag: what each accepts, the
// canonical spec, the id from the port, and the message for each mistake.
import { describe, expect, it } from 'vitest';
import { DeviceSpecError } from '../../../device/device-spec.ts';
import { createTransport } from '../../../device/registry.ts';
import { FirmataTransport, portDeviceId } from '../../../device/transports/firmata.ts';
import { parseServerArgs } from '../../../server/cli/start-args.ts';
import { UsageError } from '../../../server/cli/support.ts';

function firmata(spec: string, deviceId?: string): FirmataTransport {
  const { transport } = createTransport(spec, { instance: 0, seed: 1, deviceId });
  if (!(transport instanceof FirmataTransport)) throw new Error(`${spec} did not make a Firmata transport`);
  return transport;
}

describe('firmata device spec', () => {
  it('reads a port, auto-detect and the emulated board, with their defaults', () => {
    expect(firmata('firmata:/dev/ttyACM0').spec).toBe('firmata:/dev/ttyACM0?baud=57600&rate=100&feedback=7');
    expect(firmata('firmata').spec).toBe('firmata?baud=57600&rate=100&feedback=7');
    expect(firmata('firmata:emulator?scenario=over-pressure&seed=3').spec).toBe('firmata:emulator?baud=57600&rate=100&feedback=7&scenario=over-pressure&seed=3');
    // Firmata samples every whole millisecond: 300 Hz becomes a 3 ms period.
    expect(firmata('firmata:/dev/ttyUSB0?rate=300&baud=115200&feedback=1').nominalRateHz).toBeCloseTo(333.33, 2);
  });

  it('names the board by its port, or by --device-id, and says which', () => {
    const byPort = firmata('firmata:/dev/serial/by-id/usb-Arduino_Uno_123-if00').status();
    expect(byPort).toMatchObject({ deviceId: portDeviceId('/dev/serial/by-id/usb-Arduino_Uno_123-if00'), deviceIdSource: 'port', clock: 'host', state: 'stopped' });
    expect(byPort.deviceId).toMatch(/^[0-9a-f]{8}$/);
    expect(portDeviceId('/dev/ttyACM0')).not.toBe(portDeviceId('/dev/ttyACM1'));
    expect(firmata('firmata:/dev/ttyACM0', '0badcafe').status()).toMatchObject({ deviceId: '0badcafe', deviceIdSource: 'flag' });
  });

  it.each([
    ['firmata:/dev/ttyACM0?rate=0', /rate=0 is not a number from 1 to 1000/],
    ['firmata:/dev/ttyACM0?rate=5000', /rate=5000 is not a number from 1 to 1000/],
    ['firmata:/dev/ttyACM0?feedback=8', /feedback=8 is not a number from 0 to 7/],
    ['firmata:/dev/ttyACM0?baud=fast', /baud=fast is not a number/],
    ['firmata:/dev/ttyACM0?scenario=idle', /unknown option "scenario"/],
    ['firmata:emulator?scenario=tickle', /unknown scenario "tickle"/],
    ['firmata:/dev/ttyACM0?timeout=100', /timeout=100 is not a number from 500/],
  ])('refuses %s', (spec, message) => {
    expect(() => createTransport(spec, { instance: 0, seed: 1 })).toThrow(message);
  });

  it('refuses a malformed --device-id, and one for a device that has an id of its own', () => {
    expect(() => createTransport('firmata:/dev/ttyACM0', { instance: 0, seed: 1, deviceId: 'ACM0' })).toThrow(/--device-id ACM0 .* is not a device id/);
    expect(() => createTransport('sim', { instance: 0, seed: 1, deviceId: '1a2b3c4d' })).toThrow(DeviceSpecError);
  });
});

describe('--device-id', () => {
  it('names the --device just before it', () => {
    const options = parseServerArgs(['--device', 'sim', '--device', 'firmata:/dev/ttyACM0', '--device-id', '1a2b3c4d', '--device', 'firmata']);
    expect(options.devices).toEqual(['sim', 'firmata:/dev/ttyACM0', 'firmata']);
    expect(options.deviceIds).toEqual([null, '1a2b3c4d', null]);
    expect(parseServerArgs([]).deviceIds).toEqual([null]);
  });

  it.each([
    [['--device-id', '1a2b3c4d'], /names the --device just before it/],
    [['--device', 'firmata', '--device-id', '1A2B3C4D'], /--device-id needs a device id: 8 lowercase hex digits/],
    [['--device', 'firmata', '--device-id', '1a2b3c4d', '--device-id', '2a2b3c4d'], /has two --device-id flags/],
    [['--device', 'serial', '--device-id', '1a2b3c4d'], /--device serial has an id of its own/],
  ])('refuses %j', (args, message) => {
    expect(() => parseServerArgs(args)).toThrow(UsageError);
    expect(() => parseServerArgs(args)).toThrow(message);
  });
});
