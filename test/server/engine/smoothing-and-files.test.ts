// The causal moving average in front of the engine, and the streaming trace reader.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { MovingAverage } from '../../../server/engine/smoothing.ts';
import { readTraceCsv, TraceFileError } from '../../../server/traces/trace-csv.ts';

describe('MovingAverage', () => {
  it('refuses a window that is not a time above 0', () => {
    for (const windowMs of [0, -10, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new MovingAverage(windowMs)).toThrow(/the smoothing window must be a time above 0 ms/);
    }
  });

  it('averages the samples of the last windowMs, the current one included', () => {
    const smoother = new MovingAverage(100);
    const out = Array.from({ length: 30 }, (_, index) => smoother.next(900 + index * 10, index >= 10 ? 10 : 0));
    // At 1000 ms the window (900, 1000] holds 910..990 at 0 and 1000 at 10.
    expect(out[10]).toBeCloseTo(1, 12);
    expect(out[14]).toBeCloseTo(5, 12);
    expect(out[19]).toBe(10);
    expect(out[29]).toBe(10);
    expect(out[0]).toBe(0);
  });

  it('follows the samples that arrived, not a nominal rate (lost samples just are not in the window)', () => {
    const smoother = new MovingAverage(50);
    expect(smoother.next(0, 10)).toBe(10);
    expect(smoother.next(10, 20)).toBe(15);
    expect(smoother.next(500, 40)).toBe(40);
  });

  it('gives the same output in any chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.double({ min: -5, max: 80, noNaN: true })), { maxLength: 400 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 300 }),
        (steps, chunk, windowMs) => {
          let tMs = 0;
          const times = steps.map(([stepMs]) => (tMs += stepMs));
          const forces = steps.map(([, forceN]) => forceN);
          const whole = new MovingAverage(windowMs).smoothBatch({ tMs: times, forceN: forces }).forceN;
          const smoother = new MovingAverage(windowMs);
          const pieces: number[] = [];
          for (let start = 0; start < times.length; start += chunk) {
            pieces.push(...smoother.smoothBatch({ tMs: times.slice(start, start + chunk), forceN: forces.slice(start, start + chunk) }).forceN);
          }
          expect(pieces).toEqual(whole);
        },
      ),
    );
  });

  it('does not drift over hours at 1 kHz (a million samples)', () => {
    const smoother = new MovingAverage(20);
    let last = 0;
    for (let index = 0; index < 1_000_000; index++) last = smoother.next(index, index % 7 === 0 ? 1e6 : 0.001 * (index % 13));
    let exact = 0;
    for (let index = 1_000_000 - 20; index < 1_000_000; index++) exact += index % 7 === 0 ? 1e6 : 0.001 * (index % 13);
    expect(last).toBeCloseTo(exact / 20, 6);
  });
});

describe('readTraceCsv', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'knotmeter-trace-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('streams a long trace in bounded batches, every sample in file order', async () => {
    const path = join(scratch, 'long.csv');
    const count = 150_000;
    writeFileSync(path, `t_ms,force_n\n${Array.from({ length: count }, (_, index) => `${index},${(index % 1000) / 10}`).join('\n')}\n`);
    const tMs: number[] = [];
    const forceN: number[] = [];
    let batches = 0;
    for await (const batch of readTraceCsv(path)) {
      expect(batch.tMs.length).toBeLessThanOrEqual(4096);
      tMs.push(...batch.tMs);
      forceN.push(...batch.forceN);
      batches++;
    }
    expect(batches).toBeGreaterThan(30);
    expect(tMs).toEqual(Array.from({ length: count }, (_, index) => index));
    expect(forceN[123_456]).toBe(45.6);
  });

  it('names the file as the caller asks, and throws TraceFileError', async () => {
    const path = join(scratch, 'bad.csv');
    writeFileSync(path, 't_ms,force_n\n0,1\n1,two\n');
    const reading = (async () => {
      for await (const batch of readTraceCsv(path, 'session 12')) expect(batch).toBeDefined();
    })();
    await expect(reading).rejects.toThrow(TraceFileError);
    await expect(reading).rejects.toThrow(/^session 12: line 3: force_n is not a number: "two"/);
  });

  it('reads a last line without a newline', async () => {
    const path = join(scratch, 'no-newline.csv');
    writeFileSync(path, 't_ms,force_n\n0,1\n10,2');
    const batches = [];
    for await (const batch of readTraceCsv(path)) batches.push(batch);
    expect(batches).toEqual([{ tMs: [0, 10], forceN: [1, 2] }]);
  });
});
