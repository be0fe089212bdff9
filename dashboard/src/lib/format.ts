// How numbers read on the dashboard: one decimal for force, whole hertz, grouped counts.

export function formatForceN(forceN: number | null): string {
  return forceN === null ? '–' : forceN.toFixed(1);
}

export function formatRateHz(rateHz: number): string {
  return rateHz >= 100 ? rateHz.toFixed(0) : rateHz.toFixed(1);
}

export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}
