// The over-pressure banner's rows (dashboard/src/lib/banner-rows.ts): a warning that starts
// goes below the open ones, one that ends keeps its place while a later one is open, and
// nothing is left once every warning has ended.
import { describe, expect, it } from 'vitest';
import { bannerRows } from '../../../dashboard/src/lib/banner-rows.ts';

describe('bannerRows', () => {
  it('lists warnings in the order they started, whatever order the devices come in', () => {
    const first = bannerRows([], new Set(['b']));
    expect(first).toEqual(['b']);
    expect(bannerRows(first, new Set(['a', 'b']))).toEqual(['b', 'a']);
  });

  it('keeps an ended warning in place while a later one is open, and drops it with the ones below it', () => {
    expect(bannerRows(['a', 'b', 'c'], new Set(['b', 'c']))).toEqual(['a', 'b', 'c']);
    expect(bannerRows(['a', 'b', 'c'], new Set(['b']))).toEqual(['a', 'b']);
    expect(bannerRows(['a', 'b'], new Set(['a']))).toEqual(['a']);
    // A device warning again while its old row is held: the row is its own again.
    expect(bannerRows(['a', 'b'], new Set(['a', 'b']))).toEqual(['a', 'b']);
  });

  it('empties once no warning is open', () => {
    expect(bannerRows(['a', 'b'], new Set())).toEqual([]);
  });
});
