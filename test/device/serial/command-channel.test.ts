// The command channel: one command on the wire at a time, its ACK/NAK (or HELLO for
// INFO) settles it, silence and NAK,?,checksum are retried a bounded number of times,
// any other NAK is a CommandRefusedError naming the command and the reason.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CommandCancelledError,
  CommandChannel,
  CommandRefusedError,
  CommandTimeoutError,
  type CommandReply,
} from '../../../device/protocol/command-channel.ts';
import type { DeviceMessage } from '../../../device/protocol/device-messages.ts';
import { frame } from '../../../device/protocol/framing.ts';

const HELLO: DeviceMessage = { type: 'HELLO', protocolVersion: 1, firmwareVersion: '1.0.0', deviceId: '1a2b3c4d', sensor: 'fsr', rateHz: 100, limitOnRaw: 0, limitOffRaw: 0 };

let sent: string[];
let channel: CommandChannel;

beforeEach(() => {
  vi.useFakeTimers();
  sent = [];
  channel = new CommandChannel({ send: (line) => sent.push(line), describeDevice: () => 'device 1a2b3c4d on /dev/ttyACM0', replyTimeoutMs: 100, attempts: 3 });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('command channel', () => {
  it('sends one command at a time, each settled by its own reply', async () => {
    const rate = channel.request({ type: 'RATE', rateHz: 200 });
    const zone = channel.request({ type: 'ZONE', zone: 1 });
    expect(sent).toEqual([`${frame('RATE,200')}\n`]);
    expect(channel.handle({ type: 'ACK', command: 'ZONE' })).toBe(false); // not the one on the wire: a late reply
    expect(channel.handle({ type: 'ACK', command: 'RATE' })).toBe(true);
    await expect(rate).resolves.toEqual({ type: 'ACK', command: 'RATE' });
    expect(sent).toHaveLength(2);
    expect(channel.handle({ type: 'ACK', command: 'ZONE' })).toBe(true);
    await expect(zone).resolves.toEqual({ type: 'ACK', command: 'ZONE' });
    expect(channel.pending).toBe(0);
  });

  it('INFO is answered by HELLO, and only INFO', async () => {
    const tare = channel.request({ type: 'TARE' });
    expect(channel.handle(HELLO)).toBe(false);
    channel.handle({ type: 'ACK', command: 'TARE' });
    await tare;
    const info = channel.request({ type: 'INFO' });
    expect(channel.handle({ type: 'ACK', command: 'INFO' })).toBe(false);
    expect(channel.handle(HELLO)).toBe(true);
    await expect(info).resolves.toEqual(HELLO);
  });

  it('a NAK is an error naming the device, the command and the reason; the next command goes on', async () => {
    const limit = channel.request({ type: 'LIMIT', onRaw: 1000, offRaw: 900 });
    const next = channel.request({ type: 'ZONE', zone: 3 });
    channel.handle({ type: 'NAK', command: 'LIMIT', reason: 'range' });
    await expect(limit).rejects.toThrow(CommandRefusedError);
    await expect(limit).rejects.toThrow('device 1a2b3c4d on /dev/ttyACM0 refused LIMIT,1000,900: range (a value is out of range');
    await limit.catch((error: unknown) => {
      expect(error).toMatchObject({ command: 'LIMIT,1000,900', reason: 'range' });
    });
    expect(sent.at(-1)).toBe(`${frame('ZONE,3')}\n`);
    channel.handle({ type: 'ACK', command: 'ZONE' });
    await expect(next).resolves.toMatchObject({ type: 'ACK' });
  });

  it('a line the device read corrupted (NAK,?,checksum) is sent again, within the attempts', async () => {
    const zone = channel.request({ type: 'ZONE', zone: 2 });
    channel.handle({ type: 'NAK', command: null, reason: 'checksum' });
    expect(sent).toEqual([`${frame('ZONE,2')}\n`, `${frame('ZONE,2')}\n`]);
    channel.handle({ type: 'ACK', command: 'ZONE' });
    await expect(zone).resolves.toMatchObject({ type: 'ACK' });

    const again = channel.request({ type: 'ZONE', zone: 2 });
    for (let attempt = 0; attempt < 3; attempt++) channel.handle({ type: 'NAK', command: null, reason: 'checksum' });
    await expect(again).rejects.toThrow('refused ZONE,2: checksum (the command arrived corrupted every time');
  });

  it('silence: sent again after each timeout, then a CommandTimeoutError that says what to check', async () => {
    const stream = channel.request({ type: 'STREAM', on: true });
    const settled = stream.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(100);
    await vi.advanceTimersByTimeAsync(100);
    expect(sent).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(100);
    const error = await settled;
    expect(error).toBeInstanceOf(CommandTimeoutError);
    expect(String(error)).toMatch(/device 1a2b3c4d on \/dev\/ttyACM0 did not answer STREAM,1 within 100 ms, 3 times: check the cable and the baud rate/);
  });

  it('a reply after a retry settles the command once', async () => {
    const rate = channel.request({ type: 'RATE', rateHz: 50 });
    await vi.advanceTimersByTimeAsync(100);
    expect(sent).toHaveLength(2);
    expect(channel.handle({ type: 'ACK', command: 'RATE' })).toBe(true);
    expect(channel.handle({ type: 'ACK', command: 'RATE' })).toBe(false); // the second reply finds nothing on the wire
    await expect(rate).resolves.toMatchObject({ command: 'RATE' });
  });

  it('coalesces a queued command with a newer one of the same type: the latest value is sent, both callers settle', async () => {
    const first = channel.request({ type: 'TARE' });
    const zone1 = channel.request({ type: 'ZONE', zone: 1 }, { coalesce: true });
    const zone2 = channel.request({ type: 'ZONE', zone: 2 }, { coalesce: true });
    const zone3 = channel.request({ type: 'ZONE', zone: 3 }, { coalesce: true });
    channel.handle({ type: 'ACK', command: 'TARE' });
    await first;
    expect(sent).toEqual([`${frame('TARE')}\n`, `${frame('ZONE,3')}\n`]);
    channel.handle({ type: 'ACK', command: 'ZONE' });
    await expect(Promise.all([zone1, zone2, zone3])).resolves.toHaveLength(3);
  });

  it('cancelAll rejects the command on the wire and those waiting', async () => {
    const replies: Promise<CommandReply>[] = [channel.request({ type: 'INFO' }), channel.request({ type: 'TARE' })];
    channel.cancelAll('lost /dev/ttyACM0: the port closed');
    for (const reply of replies) {
      await expect(reply).rejects.toThrow(CommandCancelledError);
      await expect(reply).rejects.toThrow('not confirmed by device 1a2b3c4d on /dev/ttyACM0: lost /dev/ttyACM0');
    }
    expect(channel.pending).toBe(0);
  });

  it('a link that cannot write fails the command at once, naming it', async () => {
    const broken = new CommandChannel({
      send: () => {
        throw new Error('/dev/ttyACM0 is not open');
      },
      describeDevice: () => 'device 1a2b3c4d',
    });
    await expect(broken.request({ type: 'TARE' })).rejects.toThrow('cannot send TARE to device 1a2b3c4d: /dev/ttyACM0 is not open');
  });

  it('refuses a command it cannot encode before sending anything', async () => {
    await expect(channel.request({ type: 'ZONE', zone: 7 as 3 })).rejects.toThrow(RangeError);
    expect(sent).toEqual([]);
  });
});
