/**
 * Pressure engine throughput on one core: a 1 kHz treatment trace (holds, dips, pushes
 * past the limit) fed through `PressureEngine.pushBatch` in 50 ms batches, against a
 * baseline loop over the very same arrays in the same run (a running sum and a zone
 * count: the least any consumer of the samples does). Goal: at least 5 million samples/s.
 */
import { parseDeviceSpec } from '../../device/device-spec.ts';
import { parseSimulatorSpec, SimulatedSampleSource } from '../../device/transports/simulator.ts';
import { PressureEngine } from '../../server/engine/engine.ts';
import { presetConfig } from '../../server/engine/presets.ts';

const TRACE_SAMPLES = 3_600_000;
const BATCH_SAMPLES = 50;
const ROUNDS = 5;

interface Trace {
  tMs: number[];
  forceN: number[];
}

function treatmentTrace(): Trace {
  const source = new SimulatedSampleSource(parseSimulatorSpec(parseDeviceSpec('sim:treatment?rate=1000'), { instance: 0, seed: 7 }));
  const samples = source.take(TRACE_SAMPLES);
  return { tMs: samples.map((sample) => sample.deviceTimeUs / 1000), forceN: samples.map((sample) => source.calibration.toNewtons(sample.raw)) };
}

/** Best of a few rounds (the least disturbed by other work on the machine), samples/s. */
function samplesPerSecond(run: () => number): { perS: number; check: number } {
  let bestMs = Number.POSITIVE_INFINITY;
  let check = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const startedMs = performance.now();
    check = run();
    bestMs = Math.min(bestMs, performance.now() - startedMs);
  }
  return { perS: TRACE_SAMPLES / (bestMs / 1000), check };
}

export function benchEngine(): string[] {
  const trace = treatmentTrace();
  const config = presetConfig('shoulders');
  const baseline = samplesPerSecond(() => {
    let sumN = 0;
    let pressed = 0;
    for (let start = 0; start < TRACE_SAMPLES; start += BATCH_SAMPLES) {
      const end = Math.min(start + BATCH_SAMPLES, TRACE_SAMPLES);
      for (let index = start; index < end; index++) {
        const forceN = trace.forceN[index] ?? 0;
        sumN += forceN + (trace.tMs[index] ?? 0) * 0;
        if (forceN >= config.bandLowN) pressed++;
      }
    }
    return sumN + pressed;
  });
  const engine = samplesPerSecond(() => {
    const pressureEngine = new PressureEngine(config);
    let events = 0;
    for (let start = 0; start < TRACE_SAMPLES; start += BATCH_SAMPLES) {
      events += pressureEngine.pushBatch({ tMs: trace.tMs.slice(start, start + BATCH_SAMPLES), forceN: trace.forceN.slice(start, start + BATCH_SAMPLES) }).length;
    }
    events += pressureEngine.finish().length;
    return pressureEngine.results().holds.length + events * 0;
  });
  const millions = (perS: number): string => (perS / 1e6).toFixed(1);
  return [
    `Pressure engine, 1 kHz treatment trace of ${TRACE_SAMPLES / 1000 / 60} min (${engine.check} holds), ${BATCH_SAMPLES}-sample batches, best of ${ROUNDS}:`,
    '',
    '| path | million samples/s |',
    '| --- | ---: |',
    `| baseline: loop over the same arrays (sum, zone count) | ${millions(baseline.perS)} |`,
    `| PressureEngine.pushBatch | ${millions(engine.perS)} |`,
    '',
    `Goal at least 5 million samples/s: ${engine.perS >= 5e6 ? 'met' : 'NOT met'}.`,
  ];
}
