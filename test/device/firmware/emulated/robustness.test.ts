/**
 * The real `fsr` hex under bad input, in the emulator through the real `serialport`:
 * garbage of every byte value (NUL, control, 0x80..0xFF), lines just under, at and far
 * over the 80-byte limit, garbage glued in front of a valid command, and empty lines are
 * each answered as device/PROTOCOL.md says (one NAK per non-empty line: `?,syntax` for
 * over-long or non-printable lines, `?,checksum` for unframed ones; nothing for empty
 * lines), the next good command works, and none of it resets the device: no reset, no
 * new HELLO, and the S lines run on with seq and t_us unbroken. A 4 KB flood in one write
 * is refused with NAKs and neither resets nor wedges it (samples it had no room to send
 * show as seq gaps that t_us agrees with). An A0 stuck at 1023 gives
 * `FAULT,rail` exactly 1 s of device time after the first 1023 sample, once however long
 * it stays there, again only after it has cleared and come back for 1 s; raw 0 is no fault.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frame } from '../../../../device/protocol/framing.ts';
import { EmulatedFirmware, isReply, seqGaps } from './support/emulated-firmware.ts';

const TEST_TIMEOUT_MS = 120_000;
const PERIOD_US = 10_000;
const MAX_LINE_BYTES = 80;

let device: EmulatedFirmware;

beforeAll(async () => {
  device = await EmulatedFirmware.start({ sensor: 'fsr' });
});

afterAll(async () => {
  await device.close();
});

/** mulberry32: a small seeded generator, so the garbage is the same every run. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** The NAK the firmware owes a non-empty line without `\n`, `\r` or a leading `$` (device/PROTOCOL.md). */
function expectedNak(line: Buffer): string {
  if (line.length + 1 > MAX_LINE_BYTES) return 'NAK,?,syntax';
  if (line.some((byte) => byte < 0x20 || byte > 0x7e)) return 'NAK,?,syntax';
  return 'NAK,?,checksum';
}

describe('bad input', () => {
  it(
    'answers each garbage line with one NAK, keeps working, and never resets: seq and t_us run on unbroken',
    async () => {
      const from = device.cursor();
      const random = generator(0x6b6e6f74);
      const lines: Buffer[] = [
        Buffer.from('$IN\0FO*0E', 'latin1'),
        Buffer.from([0x80, 0xff, 0xfe, 0x81]),
        Buffer.from('\x1b[A\x1b[B', 'latin1'),
        Buffer.from('\0'),
        Buffer.from(`$${'\xff'.repeat(20)}*00`, 'latin1'),
        Buffer.alloc(MAX_LINE_BYTES - 1, 'A'), // 80 bytes with its \n: not over-long, not framed
        Buffer.alloc(MAX_LINE_BYTES, 'A'), // 81 bytes with its \n: over-long
        Buffer.alloc(1000, 'A'),
        Buffer.from(`${'x'.repeat(300)}${frame('INFO')}`, 'latin1'), // a good command behind garbage on the same line
      ];
      for (let index = 0; index < 60; index++) {
        const length = 1 + Math.floor(random() * 200);
        const bytes = Buffer.alloc(length);
        for (let at = 0; at < length; at++) {
          let byte = Math.floor(random() * 256);
          while (byte === 0x0a || byte === 0x0d || (at === 0 && byte === 0x24)) byte = Math.floor(random() * 256);
          bytes[at] = byte;
        }
        lines.push(bytes);
      }
      for (const line of lines) {
        const reply = await device.request(Buffer.concat([line, Buffer.from('\n')]));
        expect(reply.text, `reply to ${line.length} bytes ${JSON.stringify(line.toString('latin1').slice(0, 40))}`).toBe(frame(expectedNak(line)));
      }
      // empty lines ask nothing: the only reply to these is INFO's
      const emptiesFrom = device.cursor();
      await device.write(`\n\r\n\n${frame('INFO')}\n`);
      const hello = await device.nextLine(isReply, { from: emptiesFrom, what: 'the reply after empty lines' });
      expect(hello.text).toBe(device.lines[0]?.text);
      // the good command right after all that
      expect((await device.command('INFO')).text).toBe(device.lines[0]?.text);
      await device.samples(device.cursor(), 3);

      const session = device.lines.slice(from);
      expect(session.filter((line) => line.message?.type === 'HELLO')).toHaveLength(2); // the two INFOs
      expect(session.filter(isReply)).toHaveLength(lines.length + 2);
      expect(device.resets).toEqual([]);
      const samples = device.samplesBetween(from);
      expect(samples.length).toBeGreaterThan(50);
      expect(seqGaps(samples)).toEqual([]);
      expect(samples.slice(1).every((sample, index) => sample.tUs - (samples[index]?.tUs ?? 0) === PERIOD_US)).toBe(true);
      expect(device.malformedLines()).toEqual([]);
      expect(device.serialDrops).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('a flood', () => {
  it(
    'of 4 KB of random bytes in one write (lines of 0-40 bytes, faster than the replies can go out) is refused with NAKs, without a reset or a wedge',
    async () => {
      const from = device.cursor();
      const random = generator(0x666c6f6f);
      const bytes = Buffer.alloc(4096);
      for (let at = 0; at < bytes.length; at++) bytes[at] = random() < 1 / 20 ? 0x0a : Math.floor(random() * 256);
      // the flood, then INFO on a line of its own: the firmware works through the flood, then answers it
      await device.write(Buffer.concat([bytes, Buffer.from(`\n${frame('INFO')}\n`)]));
      const hello = await device.nextLine((line) => line.message?.type === 'HELLO', { from, what: 'HELLO after the flood', timeoutMs: 30_000 });
      expect(hello.text).toBe(device.lines[0]?.text);
      await device.samples(hello.index, 3);

      const replies = device.lines.slice(from, hello.index).filter(isReply);
      expect(replies.length).toBeGreaterThan(50);
      for (const reply of replies) expect(reply.fields.slice(0, 2)).toEqual(['NAK', '?']);
      expect(device.resets).toEqual([]);
      expect(device.lines.slice(from).filter((line) => line.message?.type === 'HELLO')).toEqual([hello]);
      // S lines may have been left out for want of transmit space: then seq shows it, t_us agrees
      const samples = device.samplesBetween(from);
      for (const [index, sample] of samples.slice(1).entries()) {
        const previous = samples[index];
        if (previous) expect(sample.tUs - previous.tUs).toBe(((sample.seq - previous.seq + 0x10000) % 0x10000) * PERIOD_US);
      }
      expect(device.malformedLines()).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('FAULT,rail', () => {
  it(
    'comes 1 s of device time after A0 sticks at 1023, once only; again after clearing and 1 s more; never for 0',
    async () => {
      const from = device.cursor();
      const startUs = (await device.emulator.emulatedTimeUs()) + 100_000 + 2_345;
      // 2 s stuck, 0.3 s just below, 0.5 s stuck (too short), 0.3 s below, 1.2 s stuck, 1.5 s at 0
      const plan: [durationUs: number, millivolts: number][] = [
        [2_000_000, 5000],
        [300_000, 4990],
        [500_000, 5000],
        [300_000, 4990],
        [1_200_000, 5000],
        [1_500_000, 0],
      ];
      let atUs = startUs;
      const points = plan.map(([durationUs, millivolts]) => {
        const point = [atUs, millivolts] as const;
        atUs += durationUs;
        return point;
      });
      await device.emulator.schedule('adc0', points);
      await device.untilEmulatedUs(atUs + 50_000);
      await device.samples(device.cursor(), 3);

      const session = device.lines.slice(from);
      const faults = session.filter((line) => line.message?.type === 'FAULT');
      expect(faults.map((line) => line.text)).toEqual([frame('FAULT,rail'), frame('FAULT,rail')]);
      // each FAULT comes right before the S line of the sample 1 s after the first 1023 of its run
      const samples = device.samplesBetween(from);
      const runStarts = samples.filter((sample, index) => sample.raw === 1023 && samples[index - 1]?.raw !== 1023);
      expect(runStarts).toHaveLength(3);
      const [firstRun, , thirdRun] = runStarts;
      for (const [index, fault] of faults.entries()) {
        const next = device.lines[fault.index + 1]?.message;
        expect(next?.type).toBe('S');
        const runStart = index === 0 ? firstRun : thirdRun;
        expect(next?.type === 'S' ? next.tUs - (runStart?.tUs ?? 0) : null).toBe(1_000_000);
      }
      expect(samples.filter((sample) => sample.raw === 0).length).toBeGreaterThan(100);
      expect(seqGaps(samples)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});
