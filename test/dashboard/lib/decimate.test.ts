// The live chart's thinning: few points per pixel column, every extreme kept, gaps kept.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decimateMinMax } from '../../../dashboard/src/lib/decimate.ts';
import type { ChartPoint } from '../../../dashboard/src/lib/reading-buffer.ts';

const trace = (count: number, y: (index: number) => number): ChartPoint[] => Array.from({ length: count }, (_, index) => ({ x: index / 1000, y: y(index) }));

describe('decimateMinMax', () => {
  it('keeps at most four points per column, in time order', () => {
    const points = trace(30_000, (index) => Math.sin(index / 37) * 20 + 20);
    const thinned = decimateMinMax(points, 0, 30, 600);
    expect(thinned.length).toBeLessThanOrEqual(4 * 600 + 2);
    expect(thinned.length).toBeGreaterThan(600);
    expect(thinned.every((point, index) => index === 0 || point.x > (thinned[index - 1]?.x ?? -1))).toBe(true);
  });

  it('keeps every column’s lowest and highest point (a 1 ms spike is never lost)', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: 0, max: 100, noNaN: true }), { minLength: 10, maxLength: 3000 }), fc.integer({ min: 1, max: 500 }), (forces, columns) => {
        const points = forces.map((y, index) => ({ x: index / 1000, y }));
        const toX = forces.length / 1000;
        const thinned = decimateMinMax(points, 0, toX, columns);
        expect(Math.max(...thinned.map((point) => point.y))).toBe(Math.max(...forces));
        expect(Math.min(...thinned.map((point) => point.y))).toBe(Math.min(...forces));
      }),
    );
  });

  it('only looks at the window (plus one point each side) and keeps gaps', () => {
    const points = trace(10_000, () => 10);
    points.splice(5000, 0, { x: 4.9995, y: Number.NaN });
    const thinned = decimateMinMax(points, 4, 6, 100);
    expect(thinned[0]?.x).toBeCloseTo(3.999);
    expect(thinned.at(-1)?.x).toBeCloseTo(6.0);
    expect(thinned.filter((point) => Number.isNaN(point.y))).toHaveLength(1);
  });
});
