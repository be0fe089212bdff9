// The serial transport on a real pseudo-terminal pair (Debian socat): the test plays the
// device on one end (fake-device.ts, protocol v1 from the firmware's side), the real
// SerialTransport opens the other through the real serialport bindings.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommandRefusedError, CommandTimeoutError } from '../../../device/protocol/command-channel.ts';
import { encodeDeviceMessage } from '../../../device/protocol/device-messages.ts';
import { frame } from '../../../device/protocol/framing.ts';
import { SerialTransport, type SerialDeviceEvent, type SerialTransportOptions } from '../../../device/transports/serial.ts';
import { FakeDevice } from './support/fake-device.ts';
import { PtyPair } from './support/pty-pair.ts';
import { increasing, Recorder, until } from './support/recorder.ts';

const DEVICE = { deviceId: '1a2b3c4d', firmwareVersion: '1.0.0', sensor: 'fsr', rateHz: 100 } as const;
const PERIOD_US = 10_000;

let dir: string;
let pair: PtyPair;
let device: FakeDevice;
let transport: SerialTransport | null;
let recorder: Recorder;
let events: SerialDeviceEvent[];

async function startTransport(options: Partial<SerialTransportOptions> = {}): Promise<SerialTransport> {
  const created = new SerialTransport({ path: pair.hostPath, baudRate: 115_200, deviceId: null, ...options });
  transport = created;
  created.onDeviceEvent((event) => events.push(event));
  await created.start(recorder);
  return created;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'knotmeter-serial-'));
  pair = await PtyPair.start(dir, 'massager');
  device = new FakeDevice(DEVICE);
  await device.open(pair.devicePath);
  recorder = new Recorder();
  events = [];
  transport = null;
});

afterEach(async () => {
  await transport?.stop();
  await device.close();
  await pair.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('serial transport on a pty pair', () => {
  it('sends INFO on open, learns the device from HELLO and streams its samples on device time', async () => {
    const serial = await startTransport();
    expect(device.received[0]).toEqual({ type: 'INFO' });
    const status = serial.status();
    expect(status).toMatchObject({ state: 'connected', deviceId: '1a2b3c4d', sensor: 'fsr', clock: 'device', firmware: 'knotmeter 1.0.0', nominalRateHz: 100, lastError: null });

    await device.sendSamples(200, (index) => index % 1024);
    await until(() => recorder.samples.length === 200, '200 samples');
    expect(recorder.samples.map((sample) => sample.raw)).toEqual([...Array(200).keys()]);
    expect(recorder.samples.every((sample) => sample.deviceId === '1a2b3c4d')).toBe(true);
    const times = recorder.samples.map((sample) => sample.deviceTimeUs);
    expect(times.slice(1).map((time, index) => time - (times[index] ?? 0))).toEqual(Array(199).fill(PERIOD_US));
    expect(serial.status()).toMatchObject({ samples: 200, lostSamples: 0, droppedLines: {} });
  });

  it('drops every bad line by reason and never turns one into a sample', async () => {
    const serial = await startTransport();
    const good = (raw: number): string => device.nextSamples(1, () => raw).map(encodeDeviceMessage).join('');
    const bad = [
      '$S,900,123456,512*00\n', // wrong checksum
      '$S,7,140000,512*7b\n', // lowercase hex (the checksum is 7B)
      'S,902,123456,512*1F\n', // no $
      `$${'S,903,123456,512,'.repeat(12)}*00\n`, // over 80 bytes
      `${frame('S,904,123456,2000')}\n`, // raw past the fsr range
      `${frame('S,905,123456')}\n`, // a field short
      `${frame('S,90a,123456,512')}\n`, // not a number
      `${frame('WHAT,1')}\n`, // unknown message
      '$S,906,1\x0023456,512*00\n', // NUL
      '$S,907,123456,5\xe912*00\n', // a high byte
    ];
    await device.writeRaw(Buffer.from(`${good(1)}${bad.join('')}${good(2)}${'x'.repeat(5000)}\n${good(3)}`, 'latin1'));
    // good(3) is written last: once it is recorded, every line before it has been read.
    await until(() => recorder.samples.some((sample) => sample.raw === 3), 'the last good sample');
    expect(recorder.samples.map((sample) => sample.raw)).toEqual([1, 2, 3]);
    expect(serial.status().droppedLines).toEqual({ checksum: 2, framing: 1, 'too-long': 2, range: 1, syntax: 2, unknown: 1, 'not-printable': 2 });
    expect(serial.status().lostSamples).toBe(0);
    expect(serial.reboots).toBe(0);
  });

  it('passes MARK lines on as marks on the session clock, numbered on across lost ones and a reboot; a bad MARK is dropped by reason', async () => {
    const serial = await startTransport();
    await device.sendSamples(20);
    await until(() => recorder.samples.length === 20, '20 samples');
    // The firmware sends a MARK 25 ms (its debounce) after the press it dates.
    const pressUs = device.tUs - 3 * PERIOD_US;
    await device.send({ type: 'MARK', seq: 0, tUs: pressUs }, { type: 'MARK', seq: 1, tUs: pressUs + 1000 });
    await device.writeRaw(`${frame('MARK,2')}
${frame('MARK,70000,5')}
${frame('MARK,2,x5')}
${frame('MARK,2,5,1')}
`);
    await device.send({ type: 'MARK', seq: 4, tUs: pressUs + 2000 }); // 2 and 3 never arrived
    await until(() => recorder.marks.length === 3, '3 marks');
    expect(recorder.marks).toEqual([
      { deviceId: DEVICE.deviceId, seq: 0, deviceTimeUs: pressUs, lostBefore: 0 },
      { deviceId: DEVICE.deviceId, seq: 1, deviceTimeUs: pressUs + 1000, lostBefore: 0 },
      { deviceId: DEVICE.deviceId, seq: 4, deviceTimeUs: pressUs + 2000, lostBefore: 2 },
    ]);
    // The first run's clock is the session's: a mark sits between the samples around it.
    expect(recorder.samples.filter((sample) => sample.deviceTimeUs < pressUs)).toHaveLength(17);
    expect(serial.status().lastError).toBe('2 thumb-button presses of device 1a2b3c4d on ' + pair.hostPath + ' never arrived (its MARK numbers jumped to 4)');
    await until(() => (serial.status().droppedLines.syntax ?? 0) === 3, 'the bad MARK lines counted');
    expect(serial.status().droppedLines).toEqual({ syntax: 3, range: 1 });

    // After a reboot the device counts its presses from 0 again: a MARK before the new run's
    // first sample waits for it (nothing relates the two clocks until then).
    await device.reboot();
    await device.send({ type: 'MARK', seq: 1, tUs: 1500 }); // its press 0 never arrived
    await device.sendSamples(5);
    await until(() => recorder.marks.length === 4, 'the mark after the reboot');
    const firstAfter = recorder.samples[20];
    expect(recorder.marks[3]).toEqual({ deviceId: DEVICE.deviceId, seq: 6, deviceTimeUs: (firstAfter?.deviceTimeUs ?? 0) + 300, lostBefore: 1 });
  });

  it('unwraps t_us across its 71.6-minute wrap and seq across 65535, counting a loss that spans the wrap', async () => {
    const serial = await startTransport();
    device.seq = 65_530;
    device.tUs = 0x1_0000_0000 - 5 * PERIOD_US + 123;
    await device.sendSamples(3);
    device.skip(10);
    await device.sendSamples(17);
    await until(() => recorder.samples.length === 20, '20 samples');
    const times = recorder.samples.map((sample) => sample.deviceTimeUs);
    const steps = times.slice(1).map((time, index) => time - (times[index] ?? 0));
    expect(steps).toEqual([PERIOD_US, PERIOD_US, 11 * PERIOD_US, ...Array<number>(16).fill(PERIOD_US)]);
    expect(times.at(-1)).toBeGreaterThan(0x1_0000_0000);
    expect(recorder.samples.map((sample) => sample.seq)).toEqual([65_530, 65_531, 65_532, ...[...Array(17).keys()].map((index) => 65_543 + index)]);
    expect(serial.status().lostSamples).toBe(10);
  });

  it('counts seq gaps as lost samples, but not the jump after STREAM,1', async () => {
    const serial = await startTransport();
    await device.sendSamples(10);
    device.skip(7);
    await device.sendSamples(10);
    await until(() => recorder.samples.length === 20, '20 samples');
    expect(serial.status().lostSamples).toBe(7);
    expect(recorder.samples.map((sample) => sample.seq)).toEqual([...[...Array(10).keys()], ...[...Array(10).keys()].map((index) => 17 + index)]);

    await serial.setStreaming(false);
    expect(device.streaming).toBe(false);
    device.skip(150); // taken while not streaming: never meant to arrive
    await serial.setStreaming(true);
    await device.sendSamples(5);
    await until(() => recorder.samples.length === 25, '25 samples');
    expect(serial.status().lostSamples).toBe(7);
    expect(serial.reboots).toBe(0);
    expect(increasing(recorder.samples.map((sample) => sample.deviceTimeUs))).toBe(true);
    expect(increasing(recorder.samples.map((sample) => sample.seq))).toBe(true);
  });

  it('a reboot keeps the session: HELLO unasked, counters restart, time goes on, LIMIT and ZONE sent again', async () => {
    const serial = await startTransport();
    await serial.feedback.setOverLimit(600, 500);
    await serial.feedback.setZone(1);
    expect(device.limit).toEqual({ onRaw: 600, offRaw: 500 });
    expect(device.zone).toBe(1);
    await device.sendSamples(50);
    await until(() => recorder.samples.length === 50, '50 samples');

    const sentBefore = device.received.length;
    await device.reboot(); // counters restart at 0 and it says HELLO, as the firmware does at boot
    await device.waitForCommand((command) => command.type === 'ZONE' && command.zone === 1, 3000, sentBefore);
    expect(device.received.slice(sentBefore)).toContainEqual({ type: 'LIMIT', onRaw: 600, offRaw: 500 });
    expect(device.zone).toBe(1);
    await device.sendSamples(50);
    await until(() => recorder.samples.length === 100, '100 samples');

    expect(events.filter((event) => event.type === 'reboot')).toEqual([{ type: 'reboot', detectedBy: 'hello' }]);
    expect(serial.reboots).toBe(1);
    expect(increasing(recorder.samples.map((sample) => sample.deviceTimeUs))).toBe(true);
    expect(increasing(recorder.samples.map((sample) => sample.seq))).toBe(true);
    expect(serial.status()).toMatchObject({ state: 'connected', deviceId: '1a2b3c4d', lostSamples: 0 });
    expect(serial.status().lastError).toMatch(/restarted/);
  });

  it('a HELLO right after attaching (the reset that opening a port causes) is part of the attach: settings sent again, no reboot reported', async () => {
    const serial = await startTransport();
    await serial.feedback.setZone(2);
    const sentBefore = device.received.length;
    await device.reboot();
    await device.waitForCommand((command) => command.type === 'ZONE' && command.zone === 2, 3000, sentBefore);
    await device.sendSamples(10);
    await until(() => recorder.samples.length === 10, '10 samples');
    expect(events.filter((event) => event.type === 'reboot')).toEqual([]);
    expect(serial.status()).toMatchObject({ state: 'connected', lastError: null, lostSamples: 0 });

    // A later reboot whose HELLO is lost (cut by the reset) is still told, by the counters.
    await device.reboot({ silent: true });
    await device.sendSamples(10);
    await until(() => recorder.samples.length === 20, '20 samples');
    expect(events.filter((event) => event.type === 'reboot')).toEqual([{ type: 'reboot', detectedBy: 'seq' }]);
  });

  it('a reboot without a HELLO is told by the counters restarting: INFO asked, settings sent again, loss counted from seq', async () => {
    const serial = await startTransport();
    await serial.feedback.setOverLimit(700, 650);
    await device.sendSamples(30);
    await until(() => recorder.samples.length === 30, '30 samples');

    const sentBefore = device.received.length;
    await device.reboot({ silent: true });
    device.skip(4); // the first four samples after boot never arrive
    await device.sendSamples(10);
    await until(() => recorder.samples.length === 40, '40 samples');
    await device.waitForCommand((command) => command.type === 'LIMIT', 3000, sentBefore);
    expect(device.received.slice(sentBefore)[0]).toEqual({ type: 'INFO' });
    expect(events.filter((event) => event.type === 'reboot')).toEqual([{ type: 'reboot', detectedBy: 'seq' }]);
    expect(serial.status().lostSamples).toBe(4);
    expect(increasing(recorder.samples.map((sample) => sample.deviceTimeUs))).toBe(true);
    expect(recorder.samples[30]?.seq).toBe((recorder.samples[29]?.seq ?? 0) + 5);
  });

  it('commands: ACK resolves, NAK is an error naming the command and reason, silence times out after the retries', async () => {
    const serial = await startTransport({ replyTimeoutMs: 100, attempts: 2 });
    await serial.setRate(200);
    expect(device.rateHz).toBe(200);
    expect(serial.status().nominalRateHz).toBe(200);
    await serial.setFeedbackMask(3);

    device.refuse.set('RATE', 'range');
    const refused = serial.setRate(370);
    await expect(refused).rejects.toThrow(CommandRefusedError);
    await expect(refused).rejects.toThrow('device 1a2b3c4d on ' + pair.hostPath + ' refused RATE,370: range');
    expect(serial.status().nominalRateHz).toBe(200);

    device.ignore.add('TARE');
    const sentBefore = device.received.length;
    await expect(serial.tare()).rejects.toThrow(CommandTimeoutError);
    expect(device.received.slice(sentBefore)).toEqual([{ type: 'TARE' }, { type: 'TARE' }]);

    // A line that arrives corrupted is answered NAK,?,checksum: sent again, then it goes through.
    device.garbleNext = 1;
    const zoneFrom = device.received.length;
    await expect(serial.feedback.setZone(2)).resolves.toBeUndefined();
    expect(device.received.slice(zoneFrom)).toEqual([{ type: 'ZONE', zone: 2 }]);
    expect(device.zone).toBe(2);
    device.garbleNext = 2;
    await expect(serial.feedback.setZone(1)).rejects.toThrow('refused ZONE,1: checksum');
    await expect(serial.feedback.setOverLimit(10, 20)).rejects.toThrow(/0 <= off < on/);
    await expect(serial.feedback.setOverLimit(2000, 10)).rejects.toThrow(/<= 1023 \(fsr\)/);
    expect(serial.status().state).toBe('connected');
  });

  it('unplug and replug: disconnected with lastError, reattached within 2 s, the session goes on with the gap counted', async () => {
    const serial = await startTransport();
    await serial.feedback.setOverLimit(600, 500);
    await serial.feedback.setZone(2);
    await device.sendSamples(20);
    await until(() => recorder.samples.length === 20, '20 samples');

    await device.close();
    await pair.stop(); // unplugged: the host's pty hangs up
    await until(() => serial.status().state === 'disconnected', 'the disconnected state', 2000);
    expect(serial.status().lastError).toMatch(/reconnecting/);
    expect(recorder.statuses.at(-1)?.state).toBe('disconnected');
    await expect(serial.feedback.setZone(3)).rejects.toThrow(/will be sent when the device attaches/);

    // Unplugged for a while: three reconnect attempts fail (each says so in a status), so the
    // backoff has grown from 50 ms to 400 ms before the device comes back.
    const statusesWhileAway = recorder.statuses.length;
    await until(() => recorder.statuses.slice(statusesWhileAway).filter((status) => status.state === 'disconnected').length >= 3, 'three failed reconnect attempts', 3000);
    pair = await PtyPair.start(dir, 'massager');
    const replugAt = performance.now();
    const sentBefore = device.received.length;
    await device.open(pair.devicePath);
    await until(() => serial.status().state === 'connected', 'the reattach', 2000);
    expect(performance.now() - replugAt).toBeLessThan(2000);
    await device.waitForCommand((command) => command.type === 'ZONE', 2000, sentBefore);
    expect(device.zone).toBe(3); // the value asked for while unplugged
    expect(device.limit).toEqual({ onRaw: 600, offRaw: 500 });

    device.skip(80); // taken while unplugged (the device kept power): lost
    await device.sendSamples(20);
    await until(() => recorder.samples.length === 40, '40 samples after the replug');
    expect(serial.status()).toMatchObject({ state: 'connected', deviceId: '1a2b3c4d', lostSamples: 80 });
    expect(serial.status().lastError).toMatch(/^lost .*massager-host.*; back on .*massager-host after \d+\.\d s$/);
    expect(serial.reboots).toBe(0);
    expect(increasing(recorder.samples.map((sample) => sample.deviceTimeUs))).toBe(true);
    expect(events.map((event) => event.type)).toEqual(expect.arrayContaining(['disconnected', 'attached']));
  });

  it('stays up without a device: disconnected with a clear error, then attaches when it appears', async () => {
    await device.close();
    await pair.stop();
    const serial = await startTransport();
    expect(serial.status().state).toBe('disconnected');
    expect(serial.status().lastError).toMatch(/cannot open .*massager-host.*plugged in/);
    pair = await PtyPair.start(dir, 'massager');
    await device.open(pair.devicePath);
    await until(() => serial.status().state === 'connected', 'the attach', 2000);
    await device.sendSamples(5);
    await until(() => recorder.samples.length === 5, '5 samples');
  });

  it('samples before the HELLO wait for it (a bounded number), then go out under the right id', async () => {
    device.ignore.add('INFO');
    const starting = startTransport({ replyTimeoutMs: 150 });
    await device.waitForCommand((command) => command.type === 'INFO');
    await device.sendSamples(1100);
    device.ignore.delete('INFO'); // the next INFO is answered
    await starting;
    const serial = transport;
    if (serial === null) throw new Error('no transport');
    await until(() => recorder.samples.length === 1000, 'the 1000 samples kept');
    expect(serial.status()).toMatchObject({ state: 'connected', droppedLines: { 'no-hello': 100 } });
    expect(recorder.samples[0]).toMatchObject({ deviceId: '1a2b3c4d', seq: 100 });
    expect(increasing(recorder.samples.map((sample) => sample.seq))).toBe(true);
  });

  it('a port where nothing answers INFO: disconnected, saying what to check, and asked again', async () => {
    device.ignore.add('INFO');
    const serial = await startTransport({ replyTimeoutMs: 50 });
    expect(serial.status().state).toBe('disconnected');
    expect(serial.status().lastError).toMatch(/no HELLO from .*massager-host at 115200 baud .*is a Knotmeter \(protocol v1\) on it\? .*\?baud=N/);
    device.ignore.delete('INFO');
    await until(() => serial.status().state === 'connected', 'the attach once INFO is answered', 3000);
  });

  it('a listener that throws does not take the link down', async () => {
    let calls = 0;
    const serial = new SerialTransport({ path: pair.hostPath, baudRate: 115_200, deviceId: null });
    transport = serial;
    await serial.start({
      onSamples: () => {
        calls++;
        throw new Error('downstream is broken');
      },
      onStatus: () => undefined,
    });
    await device.sendSamples(5);
    await until(() => calls > 0, 'a delivery');
    await device.sendSamples(5);
    await until(() => serial.status().samples === 10, '10 samples');
    expect(serial.status()).toMatchObject({ state: 'connected', lastError: "the pipeline failed on this device's data: downstream is broken" });
  });
});
