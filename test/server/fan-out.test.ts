import { describe, expect, it } from 'vitest';
import { fanOut, type PipelineListener, type Readings } from '../../server/pipeline.ts';
import type { EngineEvent } from '../../server/engine/results.ts';

/** A listener that writes down what it was told, in order, into `log`. */
function listenerInto(log: string[], name: string): PipelineListener {
  return {
    onReadings: (deviceId, readings) => log.push(`${name}: ${readings.tMs.length} readings of ${deviceId}`),
    onEngineEvents: (deviceId, events) => log.push(`${name}: ${events.map((event) => event.type).join(',')} of ${deviceId}`),
    onStatus: () => undefined,
    onInfo: () => undefined,
    onSession: () => undefined,
  };
}

const readings: Readings = { tMs: [10, 20], forceN: [50, 52], raw: [700, 710] };
const started: EngineEvent = { type: 'over.started', tMs: 20, warning: { startMs: 10, alertMs: 20, endMs: null, peakN: 52 } };

describe('fanOut', () => {
  it("gives each listener a batch's readings and then its events before the next listener gets either (the broadcaster, first, alarms before the recorder files)", () => {
    const log: string[] = [];
    fanOut(listenerInto(log, 'broadcaster'), listenerInto(log, 'recorder')).onBatch('1a2b3c4d', readings, [started]);
    expect(log).toEqual([
      'broadcaster: 2 readings of 1a2b3c4d',
      'broadcaster: over.started of 1a2b3c4d',
      'recorder: 2 readings of 1a2b3c4d',
      'recorder: over.started of 1a2b3c4d',
    ]);
  });

  it('tells no listener of events when a batch raised none', () => {
    const log: string[] = [];
    fanOut(listenerInto(log, 'broadcaster'), listenerInto(log, 'recorder')).onBatch('1a2b3c4d', readings, []);
    expect(log).toEqual(['broadcaster: 2 readings of 1a2b3c4d', 'recorder: 2 readings of 1a2b3c4d']);
  });
});
