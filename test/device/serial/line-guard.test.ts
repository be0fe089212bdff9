// The bounded line guard and the whole device line reader (guard -> readline -> codec):
// whatever bytes arrive, split however they are, only whole lines of at most 80 bytes go
// through, every longer line is counted once, and nothing but a valid sample line becomes
// a sample. Memory stays flat on a 100 MB stream without a newline.
import { ReadlineParser } from '@serialport/parser-readline';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeDeviceMessage, type DeviceMessage } from '../../../device/protocol/device-messages.ts';
import type { DropReason } from '../../../device/protocol/drop-reasons.ts';
import { LineGuard } from '../../../device/protocol/line-guard.ts';
import { DeviceLineReader } from '../../../device/protocol/line-reader.ts';

/** Runs bytes through a guard in the given chunks; returns what came out and what it counted. */
function guard(chunks: readonly Uint8Array[], end = true): { output: Buffer; dropped: LineGuard['dropped'] } {
  const lineGuard = new LineGuard();
  const out: Buffer[] = [];
  lineGuard.on('data', (chunk: Buffer) => out.push(chunk));
  for (const chunk of chunks) lineGuard.write(Buffer.from(chunk));
  if (end) lineGuard.end();
  return { output: Buffer.concat(out), dropped: lineGuard.dropped };
}

/** What the guard must let through: each `\n`-terminated line of at most 80 bytes, as is. */
function reference(bytes: Uint8Array): { output: Buffer; tooLong: number; unterminated: number; empty: number } {
  const kept: Buffer[] = [];
  let tooLong = 0;
  let empty = 0;
  let start = 0;
  const buffer = Buffer.from(bytes);
  for (;;) {
    const end = buffer.indexOf(0x0a, start);
    if (end < 0) break;
    if (end === start) empty++;
    else if (end + 1 - start <= 80) kept.push(buffer.subarray(start, end + 1));
    else tooLong++;
    start = end + 1;
  }
  const tail = buffer.length - start;
  // An unterminated tail is counted too long as soon as it reaches 80 bytes, else unterminated at the end.
  return { output: Buffer.concat(kept), tooLong: tooLong + (tail >= 80 ? 1 : 0), unterminated: tail > 0 && tail < 80 ? 1 : 0, empty };
}

/** Heap plus buffers: what a stream holding on to data would grow. */
function retainedBytes(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** Cuts bytes at the given positions (any order, duplicates allowed). */
function cut(bytes: Uint8Array, positions: readonly number[]): Uint8Array[] {
  const points = [...new Set(positions.map((position) => position % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  return chunks;
}

/** Bytes that look like a serial line gone wrong: lines of any length, `\r\n`, NUL, high bytes, `$` and `*`. */
const noisyBytes = fc
  .array(
    fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.constantFrom('\n', '\r\n', '\0', '\xff', '$', '*', ',').map((text) => Buffer.from(text, 'latin1')),
      fc.integer({ min: 0, max: 300 }).map((length) => Buffer.from(`${'x'.repeat(length)}\n`)),
    ),
    { maxLength: 30 },
  )
  .map((parts) => new Uint8Array(Buffer.concat(parts.map((part) => Buffer.from(part)))));

describe('line guard', () => {
  it('refuses a limit that cannot hold a line', () => {
    expect(() => new LineGuard({ maxLineBytes: 1 })).toThrow(TypeError);
    expect(() => new LineGuard({ maxLineBytes: 1.5 })).toThrow(/maxLineBytes/);
  });

  it('passes lines of up to 80 bytes with their terminator and drops longer ones, counted once', () => {
    const exact = `${'a'.repeat(79)}\n`;
    const withCr = `${'b'.repeat(78)}\r\n`;
    const over = `${'c'.repeat(80)}\n`;
    const { output, dropped } = guard([Buffer.from(exact + over + withCr + `${'d'.repeat(500)}\n` + '\nok\n')]);
    expect(output.toString()).toBe(exact + withCr + 'ok\n');
    expect(dropped).toEqual({ 'too-long': 2, unterminated: 0, empty: 1 });
  });

  it('gives the same lines however the bytes are split, for every split point of a sample stream', () => {
    const text = `$S,1,1000,512*79\r\n${'z'.repeat(120)}\n$HELLO,1,1.0.0,1a2b3c4d,fsr,100,0,0*00\n\0\xff\n`;
    const bytes = new Uint8Array(Buffer.from(text, 'latin1'));
    const expected = reference(bytes);
    for (let first = 0; first <= bytes.length; first++) {
      for (let second = first; second <= bytes.length; second += 7) {
        const { output, dropped } = guard(cut(bytes, [first, second]));
        expect(output.equals(expected.output)).toBe(true);
        expect(dropped['too-long']).toBe(expected.tooLong);
      }
    }
    const bytewise = guard([...bytes].map((byte) => Uint8Array.of(byte)));
    expect(bytewise.output.equals(expected.output)).toBe(true);
  });

  it('property: random bytes in random chunks give exactly the reference lines and counts', () => {
    fc.assert(
      fc.property(noisyBytes, fc.array(fc.nat(), { maxLength: 20 }), (bytes, positions) => {
        const expected = reference(bytes);
        const { output, dropped } = guard(cut(bytes, positions));
        expect(output.equals(expected.output)).toBe(true);
        expect(dropped).toEqual({ 'too-long': expected.tooLong, unterminated: expected.unterminated, empty: expected.empty });
      }),
      { numRuns: 500 },
    );
  });

  it('keeps memory flat on a 100 MB stream without a newline, and reads the next line after it', () => {
    const messages: DeviceMessage[] = [];
    const drops: DropReason[] = [];
    const reader = new DeviceLineReader({ onMessage: (message) => messages.push(message), onDrop: (reason) => drops.push(reason) });
    // One chunk written again and again: any growth is what the reader keeps, not the test's own data.
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    const before = retainedBytes();
    let peak = before;
    for (let written = 0; written < 100 * 1024 * 1024; written += chunk.length) {
      reader.input.write(chunk);
      if (written % (4 * 1024 * 1024) === 0) peak = Math.max(peak, retainedBytes());
    }
    reader.input.write(Buffer.from('\n$S,1,1000,512*79\n'));
    peak = Math.max(peak, retainedBytes());
    expect(peak - before).toBeLessThan(10 * 1024 * 1024);
    expect(drops).toEqual(['too-long']);
    expect(messages).toEqual([{ type: 'S', seq: 1, tUs: 1000, raw: 512 }]);
  });

  it('(why) readline alone keeps an unterminated line whole, however long', () => {
    const lines = new ReadlineParser({ delimiter: '\n', encoding: 'latin1' });
    lines.on('data', () => undefined);
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    for (let written = 0; written < 2 * 1024 * 1024; written += chunk.length) lines.write(chunk);
    expect(lines.buffer.length).toBe(2 * 1024 * 1024);
    lines.destroy();
  });
});

interface Read {
  readonly messages: DeviceMessage[];
  readonly drops: DropReason[];
}

/** Bytes through the device line reader (guard, readline, codec), in the given chunks. */
function read(chunks: readonly Uint8Array[]): Read {
  const messages: DeviceMessage[] = [];
  const drops: DropReason[] = [];
  const reader = new DeviceLineReader({ onMessage: (message) => messages.push(message), onDrop: (reason) => drops.push(reason) });
  reader.sensor = 'fsr';
  for (const chunk of chunks) reader.input.write(Buffer.from(chunk));
  reader.input.end();
  return { messages, drops };
}

const sample = fc.record({ type: fc.constant('S' as const), seq: fc.integer({ min: 0, max: 65_535 }), tUs: fc.integer({ min: 0, max: 0xffff_ffff }), raw: fc.integer({ min: 0, max: 1023 }) });

/** Garbage lines that cannot be valid: no `$` at all, always terminated (so they never swallow the next line). */
const garbageLine = fc
  .tuple(fc.uint8Array({ maxLength: 150 }), fc.boolean())
  .map(([bytes, crlf]) => Buffer.concat([Buffer.from(bytes.filter((byte) => byte !== 0x24 && byte !== 0x0a)), Buffer.from(crlf ? '\r\n' : '\n')]));

describe('device line reader (guard -> readline -> codec)', () => {
  it('property: good sample lines among garbage, split anyhow: exactly the good samples, in order, no false one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(sample.map((message) => ({ good: message })), garbageLine.map((bytes) => ({ garbage: bytes }))), { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.boolean(),
        (parts, positions, crlf) => {
          const bytes = Buffer.concat(
            parts.map((part) => ('good' in part ? Buffer.from(encodeDeviceMessage(part.good).replace('\n', crlf ? '\r\n' : '\n')) : part.garbage)),
          );
          const result = read(cut(new Uint8Array(bytes), positions));
          const good = parts.flatMap((part) => ('good' in part ? [part.good] : []));
          expect(result.messages).toEqual(good);
          expect(result.drops.length).toBe(parts.length - good.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: one corrupted byte anywhere in a sample line never yields a sample', () => {
    fc.assert(
      fc.property(sample, fc.nat(), fc.integer({ min: 0, max: 255 }), (message, at, byte) => {
        const line = Buffer.from(encodeDeviceMessage(message), 'latin1');
        const index = at % (line.length - 1); // the terminator stays
        fc.pre(line[index] !== byte && byte !== 0x0a);
        line[index] = byte;
        const result = read([new Uint8Array(line)]);
        expect(result.messages).toEqual([]);
        expect(result.drops).toHaveLength(1);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: random bytes never crash the reader and never make a sample', () => {
    fc.assert(
      fc.property(noisyBytes, fc.array(fc.nat(), { maxLength: 20 }), (bytes, positions) => {
        const result = read(cut(bytes, positions));
        expect(result.messages.filter((message) => message.type === 'S')).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });
});
