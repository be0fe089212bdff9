/**
 * Test helpers for transports: a listener that records every sample, status and mark, and a
 * polling wait with a message that says what never happened.
 */
import type { DeviceMark, RawSample, TransportListener, TransportStatus } from '../../../../device/transport.ts';

export class Recorder implements TransportListener {
  readonly samples: RawSample[] = [];
  readonly statuses: TransportStatus[] = [];
  readonly marks: DeviceMark[] = [];

  onSamples(batch: readonly RawSample[]): void {
    if (batch.length === 0) throw new Error('a transport delivered an empty batch');
    this.samples.push(...batch);
  }

  onStatus(status: TransportStatus): void {
    this.statuses.push(status);
  }

  onMark(mark: DeviceMark): void {
    this.marks.push(mark);
  }
}

/** Polls `condition` every 5 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** True when every value is above the one before it. */
export function increasing(values: readonly number[]): boolean {
  return values.every((value, index) => index === 0 || value > (values[index - 1] ?? Number.NEGATIVE_INFINITY));
}
