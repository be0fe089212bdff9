/**
 * Demo sessions: weeks of simulated treatments written into a session store, so the
 * history, session and trends pages can be tried at once (`npm run demo-history`, in
 * `server/cli/demo-history.ts`, is the command over it).
 *
 * Nothing here is made up after the fact: each session is the simulated massager's
 * `treatment` force (the very force model `sim:` streams live), run through the pressure
 * engine with the preset of its body area, and written through the session store with
 * every sample, hold and warning. Only the wall-clock start is set in the past (three
 * treatments a week, neck, shoulders and upper back in turn) and the holds are labelled
 * with knots, the first half of a session's holds with one and the rest with another.
 *
 *   const sessions = await writeDemoHistory(store, { weeks: 8, seed: 1, nowMs: Date.now() });
 */
import { defaultCalibration } from '../../device/sensors.ts';
import { ForceModel } from '../../device/simulator/force-model.ts';
import { PressureEngine } from '../engine/engine.ts';
import { presetConfig, type PresetName } from '../engine/presets.ts';
import { toChunks } from './recorder.ts';
import type { SessionStore, SessionWrite } from './store.ts';

const DAY_MS = 86_400_000;
const RATE_HZ = 50;
const SESSION_MS = 4 * 60_000;
/** The demo massager's id (8 hex digits, as a device's). */
export const DEMO_DEVICE_ID = 'de5e0001';

/** Monday, Wednesday, Friday: the area treated that day, its preset and two of its knots. */
const WEEKLY_PLAN: readonly { readonly dayOffset: number; readonly preset: PresetName; readonly bodyArea: string; readonly knots: readonly [string, string] }[] = [
  { dayOffset: 0, preset: 'neck', bodyArea: 'neck', knots: ['left C5', 'right C5'] },
  { dayOffset: 2, preset: 'shoulders', bodyArea: 'shoulders', knots: ['left upper trapezius', 'right upper trapezius'] },
  { dayOffset: 4, preset: 'upper-back', bodyArea: 'upper back', knots: ['right rhomboid', 'left rhomboid'] },
];

export interface DemoHistoryOptions {
  readonly weeks: number;
  readonly seed: number;
  /** Now (Unix ms): the last week is this one, and no session starts after it. */
  readonly nowMs: number;
}

/** Monday 00:00 UTC of the week of `ms`. */
function mondayOf(ms: number): number {
  const day = Math.floor(ms / DAY_MS);
  // 1970-01-01 was a Thursday: day 0 is 3 days after a Monday.
  return (day - ((day + 3) % 7)) * DAY_MS;
}

/** One simulated treatment run through the engine, as one write of a finished session. */
function treatmentWrite(startedAtMs: number, plan: (typeof WEEKLY_PLAN)[number], seed: number): SessionWrite {
  const config = presetConfig(plan.preset);
  const model = new ForceModel({ scenario: 'treatment', seed, rateHz: RATE_HZ, band: config });
  const calibration = defaultCalibration('hx711');
  const count = (SESSION_MS / 1000) * RATE_HZ;
  const tMs = Array.from({ length: count }, (_, index) => (index * 1000) / RATE_HZ);
  const forceN = tMs.map(() => model.next());
  const raw = forceN.map((force) => calibration.toRaw(force));
  const engine = new PressureEngine(config);
  engine.pushBatch({ tMs, forceN });
  engine.finish();
  const { holds, warnings } = engine.results();
  const half = Math.ceil(holds.length / 2);
  const handle = {
    id: null,
    session: { deviceId: DEMO_DEVICE_ID, spec: 'sim:treatment', transport: 'sim', sensor: 'hx711', preset: plan.preset, engineConfig: config, startedAtMs, firstDeviceMs: 0 },
  };
  const durationMs = tMs.at(-1) ?? 0;
  return {
    handle,
    samples: toChunks([{ tMs, forceN, raw }], 0),
    holds: holds.map((hold, index) => ({ index, hold, targetHoldMs: config.targetHoldMs, label: { bodyArea: plan.bodyArea, knot: plan.knots[index < half ? 0 : 1] } })),
    warnings: warnings.map((warning, index) => ({ index, warning })),
    durationMs,
    end: { status: 'complete', endedAtMs: startedAtMs + durationMs },
  };
}

/**
 * Writes the treatments of the last `weeks` weeks (every one finished by `nowMs`: three a
 * week) into an empty store, oldest first; returns how many sessions it wrote.
 */
export async function writeDemoHistory(store: SessionStore, options: DemoHistoryOptions): Promise<number> {
  const fromMs = options.nowMs - options.weeks * 7 * DAY_MS;
  let written = 0;
  for (let monday = mondayOf(fromMs); monday <= options.nowMs; monday += 7 * DAY_MS) {
    const week = Math.round(monday / (7 * DAY_MS));
    for (const [index, plan] of WEEKLY_PLAN.entries()) {
      // Early evening, UTC; a few minutes later or earlier each time.
      const startedAtMs = monday + plan.dayOffset * DAY_MS + 18 * 3_600_000 + ((week * 7 + index * 13) % 40) * 60_000;
      if (startedAtMs <= fromMs || startedAtMs + SESSION_MS > options.nowMs) continue;
      await store.commit([treatmentWrite(startedAtMs, plan, options.seed * 1000 + written)]);
      written++;
    }
  }
  return written;
}
