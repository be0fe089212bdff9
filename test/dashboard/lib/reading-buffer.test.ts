// The dashboard's reading buffer: keeps the window, skips what it already has, starts
// afresh when the device restarts, and breaks the line where readings are missing.
import { describe, expect, it } from 'vitest';
import { ReadingBuffer } from '../../../dashboard/src/lib/reading-buffer.ts';

function batch(fromMs: number, count: number, periodMs = 10) {
  const tMs = Array.from({ length: count }, (_, index) => fromMs + index * periodMs);
  return { deviceId: 'd', tMs, forceN: tMs.map((time) => time / 100), raw: tMs.map(() => 0) };
}

describe('ReadingBuffer', () => {
  it('keeps about the window of readings, newest last', () => {
    const buffer = new ReadingBuffer(1000);
    for (let fromMs = 0; fromMs < 10_000; fromMs += 50) buffer.add(batch(fromMs, 5));
    expect(buffer.latestMs).toBe(9990);
    expect(buffer.points[0]?.x).toBeGreaterThanOrEqual(8.99 - 0.5);
    expect(buffer.points.length).toBeLessThan(200);
  });

  it('skips readings it already holds (a history overlapping live readings)', () => {
    const buffer = new ReadingBuffer(30_000);
    buffer.add(batch(0, 100));
    buffer.add(batch(500, 100));
    const times = buffer.points.map((point) => point.x);
    expect(times).toEqual([...new Set(times)].sort((a, b) => a - b));
    expect(buffer.points.length).toBe(150);
  });

  it('starts afresh when device time goes back (a restarted device or server)', () => {
    const buffer = new ReadingBuffer(30_000);
    buffer.add(batch(20_000, 100));
    buffer.add(batch(0, 10));
    expect(buffer.points.length).toBe(10);
    expect(buffer.latestMs).toBe(90);
  });

  it('breaks the line where readings are missing, not where they are merely batched', () => {
    const buffer = new ReadingBuffer(30_000);
    buffer.add(batch(0, 5));
    buffer.add(batch(50, 5));
    expect(buffer.points.some((point) => Number.isNaN(point.y))).toBe(false);
    buffer.add(batch(400, 5));
    const breaks = buffer.points.filter((point) => Number.isNaN(point.y));
    expect(breaks).toHaveLength(1);
    expect(breaks[0]?.x).toBeCloseTo(0.245);
    expect(buffer.latestForceN).toBe(4.4);
  });
});
