/**
 * The zone marks shared by the gauge, the chart and the number, so they never disagree:
 * the band and the over limit from the device's engine config, in the Okabe-Ito colours
 * (colour-blind safe), each with its word.
 */
import type { EngineConfig, Zone } from '../../../server/engine/results.ts';

export const ZONE_COLOURS: Readonly<Record<Zone, string>> = {
  below: '#999999',
  band: '#009E73',
  above: '#E69F00',
  over: '#D55E00',
};

/**
 * The same zones for words and numbers on the page: the theme's text variants of those
 * hues (app.css), which reach 4.5:1 against the panel in light and dark (orange #E69F00
 * on white is 2.25:1). `ZONE_COLOURS` stay for fills and chart marks.
 */
export const ZONE_TEXT_COLOURS: Readonly<Record<Zone, string>> = {
  below: 'var(--muted)',
  band: 'var(--ok)',
  above: 'var(--warn)',
  over: 'var(--bad)',
};

/** The top of the force scale: a little past the over limit, so the limit is always in view. */
export function scaleMaxN(config: EngineConfig): number {
  return Math.ceil((config.overLimitN * 1.25) / 5) * 5;
}

/** The zones as force ranges, lowest first. */
export function zoneRanges(config: EngineConfig): { zone: Zone; fromN: number; toN: number }[] {
  return [
    { zone: 'below', fromN: 0, toN: config.bandLowN },
    { zone: 'band', fromN: config.bandLowN, toN: config.bandHighN },
    { zone: 'above', fromN: config.bandHighN, toN: config.overLimitN },
    { zone: 'over', fromN: config.overLimitN, toN: Number.POSITIVE_INFINITY },
  ];
}
