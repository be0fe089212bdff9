/**
 * Colours for every chart (live, review, calibration) from the page's theme (app.css variables follow the
 * system's light or dark setting) and translucent fills of the Okabe-Ito zone colours.
 */

/** A CSS custom property's value on `element`, or `fallback` when it is not set. */
export function cssColour(element: HTMLElement, property: string, fallback: string): string {
  return getComputedStyle(element).getPropertyValue(property).trim() || fallback;
}

/** A colour with an alpha, from `#RRGGBB`. */
export function translucent(hex: string, alpha: number): string {
  const value = Number.parseInt(hex.slice(1), 16);
  return `rgba(${value >> 16}, ${(value >> 8) & 0xff}, ${value & 0xff}, ${alpha})`;
}
