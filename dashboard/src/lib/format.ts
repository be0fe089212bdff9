// How numbers read on the dashboard: one decimal for force, whole hertz, grouped counts, m:ss.

export function formatForceN(forceN: number | null): string {
  return forceN === null ? '–' : forceN.toFixed(1);
}

export function formatRateHz(rateHz: number): string {
  return rateHz >= 100 ? rateHz.toFixed(0) : rateHz.toFixed(1);
}

export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}

/** A duration as m:ss (whole seconds, rounded down: a timer never shows a second early). */
export function formatDuration(ms: number): string {
  const seconds = Math.max(Math.floor(ms / 1000), 0);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

/** Seconds with one decimal, for short spans such as time over the limit. */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** A hold's label as one phrase, `neck · left C5`, with words for what is missing. */
export function formatLabel(label: { readonly bodyArea: string | null; readonly knot: string | null }): string {
  if (label.bodyArea === null && label.knot === null) return 'Not labelled';
  return [label.bodyArea ?? 'any area', label.knot ?? 'no knot named'].join(' · ');
}
