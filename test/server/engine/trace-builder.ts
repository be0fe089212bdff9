// Test helpers for the pressure engine: build traces from pieces ("300 ms at 20 N, then 1 s
// of lost samples"), run the engine over them in any chunking, and the test config.
import { PressureEngine } from '../../../server/engine/engine.ts';
import { presetConfig } from '../../../server/engine/presets.ts';
import type { EngineConfig, EngineEvent, EngineResults } from '../../../server/engine/results.ts';

export interface Trace {
  tMs: number[];
  forceN: number[];
}

/**
 * `ms` of samples at one force (or a force per sample index within the piece), or `lostMs`
 * of samples that never arrived (time moves on, no samples).
 */
export type Piece = { readonly ms: number; readonly n: number | ((index: number) => number) } | { readonly lostMs: number };

/** Samples every `periodMs` from `startMs`; a piece of `ms` has `ms / periodMs` samples. */
export function buildTrace(pieces: readonly Piece[], { periodMs = 10, startMs = 0 } = {}): Trace {
  const trace: Trace = { tMs: [], forceN: [] };
  let sample = 0;
  for (const piece of pieces) {
    if ('lostMs' in piece) {
      sample += Math.round(piece.lostMs / periodMs);
      continue;
    }
    const count = Math.round(piece.ms / periodMs);
    for (let index = 0; index < count; index++, sample++) {
      trace.tMs.push(startMs + sample * periodMs);
      trace.forceN.push(typeof piece.n === 'number' ? piece.n : piece.n(index));
    }
  }
  return trace;
}

/** Shoulders, with a target and a maximum short enough for small traces. */
export const TEST_CONFIG: EngineConfig = { ...presetConfig('shoulders'), targetHoldMs: 5000, maxHoldMs: 8000 };

export interface Run {
  /** Every event, `finish()`'s included. */
  readonly events: EngineEvent[];
  readonly results: EngineResults;
  readonly engine: PressureEngine;
}

/**
 * Feeds a trace in chunks of the given sizes (cycled; default: one batch), or one sample at a
 * time with `'single'`, then finishes.
 */
export function runEngine(config: EngineConfig, trace: Trace, chunks: readonly number[] | 'single' = []): Run {
  const engine = new PressureEngine(config);
  const events: EngineEvent[] = [];
  if (chunks === 'single') {
    for (const [index, tMs] of trace.tMs.entries()) events.push(...engine.push(tMs, trace.forceN[index] ?? Number.NaN));
  } else if (chunks.length === 0) {
    events.push(...engine.pushBatch(trace));
  } else {
    let start = 0;
    for (let chunk = 0; start < trace.tMs.length; chunk++) {
      const end = Math.min(trace.tMs.length, start + Math.max(1, chunks[chunk % chunks.length] ?? 1));
      events.push(...engine.pushBatch({ tMs: trace.tMs.slice(start, end), forceN: trace.forceN.slice(start, end) }));
      start = end;
    }
  }
  events.push(...engine.finish());
  return { events, results: engine.results(), engine };
}

export function eventsOfType<Type extends EngineEvent['type']>(events: readonly EngineEvent[], type: Type): Extract<EngineEvent, { type: Type }>[] {
  return events.filter((event): event is Extract<EngineEvent, { type: Type }> => event.type === type);
}
