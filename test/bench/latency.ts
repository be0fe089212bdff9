// Latency helpers shared by the serial and bus benches: percentiles of measured delays, and a
// wait for one callback-delivered event that fails naming the bench and what did not come.
export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly n: number;
}

export function percentiles(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? Number.NaN, n: sorted.length };
}

export type WaitFor = <T>(register: (resolve: (value: T) => void) => void, what: string, timeoutMs?: number) => Promise<T>;

/** A `waitFor` whose timeout error starts with `benchName` ("bench:bus: no echo within 5000 ms"). */
export function waitForIn(benchName: string): WaitFor {
  return <T>(register: (resolve: (value: T) => void) => void, what: string, timeoutMs = 5000): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${benchName}: no ${what} within ${timeoutMs} ms`)), timeoutMs);
      register((value) => {
        clearTimeout(timer);
        resolve(value);
      });
    });
}
