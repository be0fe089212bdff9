// Session time as people read a clock: m:ss (h:mm:ss past an hour), and the ticks of a
// time axis on round clock steps at every zoom, down to hundredths of a second.

/** Seconds since the session started as m:ss, or h:mm:ss past the hour (whole seconds). */
export function clockText(seconds: number): string {
  const whole = Math.max(Math.round(seconds), 0);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = String(whole % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`;
}

/** Steps between ticks, seconds: each one a round figure on a clock. */
const CLOCK_STEPS_S = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400];

/** Ticks from `fromS` to `toS` on the smallest round step that gives at most `most` of them. */
export function clockTicks(fromS: number, toS: number, most = 8): number[] {
  const spanS = Math.max(toS - fromS, 0);
  const stepS = CLOCK_STEPS_S.find((step) => Math.floor(spanS / step) + 1 <= most) ?? spanS / (most - 1);
  const ticks: number[] = [];
  // Counting whole steps (not adding floats) keeps 0.3 from reading 0.30000000000000004.
  for (let count = Math.ceil(fromS / stepS - 1e-9); count * stepS <= toS + 1e-9; count++) ticks.push(Number((count * stepS).toFixed(2)));
  return ticks;
}

/** A tick's label: m:ss, with tenths or hundredths when the ticks are that close. */
export function clockTickLabel(seconds: number, stepS: number): string {
  if (stepS >= 1) return clockText(seconds);
  const decimals = stepS >= 0.1 ? 1 : 2;
  const fixed = Math.max(seconds, 0).toFixed(decimals);
  const [whole = '0', fraction = ''] = fixed.split('.');
  return `${clockText(Number(whole))}.${fraction}`;
}
