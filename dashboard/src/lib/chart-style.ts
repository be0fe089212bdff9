/**
 * What the dashboard's charts share: colours from the page's theme (app.css variables
 * follow the system's light or dark setting), translucent fills of the Okabe-Ito zone
 * colours, and the options of a chart that only shows data.
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

/**
 * The options every chart that only shows data shares (live, session, trends): drawn at
 * once rather than animated, sized by its box, and deaf to the pointer, so a chart redrawn
 * 20 times a second never pays for hit tests (the pages handle the pointer themselves).
 */
export function stillChartOptions(): { animation: false; responsive: true; maintainAspectRatio: false; events: (keyof HTMLElementEventMap)[] } {
  return { animation: false, responsive: true, maintainAspectRatio: false, events: [] };
}
