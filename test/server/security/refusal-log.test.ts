// The refusal log: every refused attempt is logged, a flood of them is summed up instead
// of flooding the log.
import { describe, expect, it } from 'vitest';
import { RefusalLog } from '../../../server/security/refusal-log.ts';

function recorder(): { lines: { fields: Record<string, unknown>; message: string }[]; warn: (fields: Record<string, unknown>, message: string) => void } {
  const lines: { fields: Record<string, unknown>; message: string }[] = [];
  return { lines, warn: (fields, message) => void lines.push({ fields, message }) };
}

describe('RefusalLog', () => {
  it('logs the first refusal of a kind from a client at once, counts the rest, and sums them up after the interval', () => {
    const logger = recorder();
    let nowMs = 0;
    const refusals = new RefusalLog(logger, 10_000, () => nowMs);
    refusals.refused('foreign-host', '10.0.0.9', 'GET / for Host evil.example');
    for (let index = 0; index < 99; index++) refusals.refused('foreign-host', '10.0.0.9', 'GET / for Host evil.example');
    refusals.refused('rate-limit', '10.0.0.9', 'selectPreset');
    refusals.refused('foreign-host', '10.0.0.10', 'GET / for Host evil.example');
    expect(logger.lines.map((line) => [line.fields.refused, line.fields.client])).toEqual([
      ['foreign-host', '10.0.0.9'],
      ['rate-limit', '10.0.0.9'],
      ['foreign-host', '10.0.0.10'],
    ]);
    nowMs = 10_000;
    refusals.refused('foreign-host', '10.0.0.9', 'GET / for Host evil.example');
    expect(logger.lines.at(-1)).toEqual({ fields: { refused: 'foreign-host', client: '10.0.0.9', alsoRefusedSinceLastLine: 99 }, message: 'refused: GET / for Host evil.example' });
  });

  it('remembers a bounded number of clients, so a flood from many addresses cannot fill memory', () => {
    const logger = recorder();
    const refusals = new RefusalLog(logger, 10_000, () => 0);
    for (let index = 0; index < 5000; index++) refusals.refused('unpaired', `client-${index}`, 'GET /');
    // The first client was forgotten: its next refusal is logged again rather than counted.
    refusals.refused('unpaired', 'client-0', 'GET /');
    expect(logger.lines).toHaveLength(5001);
  });

  it('refuses an interval that is not a positive number of milliseconds, naming it', () => {
    expect(() => new RefusalLog(recorder(), 0)).toThrow(/everyMs must be a positive number of milliseconds \(got 0\)/);
  });
});
