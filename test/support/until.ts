// Waits for a condition by polling (no fixed sleeps); fails naming what it waited for.
export function until(condition: () => boolean, what: string, limitMs = 20_000): Promise<void> {
  const startedMs = performance.now();
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (condition()) resolve();
      else if (performance.now() - startedMs > limitMs) reject(new Error(`gave up waiting for ${what}`));
      else setTimeout(check, 20);
    };
    check();
  });
}
