// `npm run analyze -- --ppt`: pressure-pain thresholds from a trace with a `mark` column,
// the target rate and tip area flags, and bad input refused naming the flag or the line.
// In-process (runAnalyze, as the CLI runs it).
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pptAnalysisSchema } from '../../../server/contract/ppt.ts';
import { analyze, expectRefused, scratchFiles } from '../../support/analyze.ts';

const EXAMPLE = fileURLToPath(new URL('../../fixtures/traces/ppt_three_trials.csv', import.meta.url));
const { file } = scratchFiles('knotmeter-analyze-ppt-');

/** A ramp at `rateNPerS` from 0 N at 100 Hz, marked at `pptN` (or not), after a rest. */
function rampCsv(rateNPerS: number, pptN: number, marked: boolean): string {
  const lines = ['t_ms,force_n,mark', '0,0,', '10,0,0'];
  let tMs = 20;
  for (let forceN = 0; forceN < pptN; forceN += rateNPerS / 100, tMs += 10) lines.push(`${tMs},${forceN.toFixed(3)},`);
  lines.push(`${tMs},${pptN},${marked ? 1 : 0}`, `${tMs + 10},0,`, `${tMs + 20},0`);
  return `${lines.join('\n')}\n`;
}

describe('npm run analyze -- --ppt', () => {
  it('prints {"trials", "summary"}: the example has three valid trials and one too fast, rounded as the holds are', async () => {
    const result = await analyze('--ppt', EXAMPLE);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const analysis = pptAnalysisSchema.parse(JSON.parse(result.stdout));
    expect(analysis.trials.map((trial) => [trial.onset, trial.valid, trial.reason])).toEqual([
      ['mark', true, null],
      ['mark', false, 'rate-off-target'],
      ['mark', true, null],
      ['release', true, null],
    ]);
    expect(analysis.summary).toMatchObject({ n: 3 });
    const valid = analysis.trials.filter((trial) => trial.valid).map((trial) => trial.pptN);
    expect(analysis.summary.meanPptN).toBeCloseTo(valid.reduce((sum, value) => sum + value, 0) / 3, 2);
    for (const trial of analysis.trials) expect(trial.pptKPa).toBeCloseTo((trial.pptN * 10) / 1.5, 2);
  });

  it('--rate-kpa-s and --area-cm2 set the target and the tip: the same ramp is valid at one rate and off target at another', async () => {
    // 5 N/s on 1 cm² is 50 kPa/s.
    const trace = file(rampCsv(5, 20, true));
    const atFifty = pptAnalysisSchema.parse(JSON.parse((await analyze('--ppt', '--area-cm2', '1', trace)).stdout));
    expect(atFifty.trials[0]).toMatchObject({ valid: true, pptN: 20, pptKPa: 200 });
    expect(atFifty.trials[0]?.rateKPaPerS).toBeCloseTo(50, 0);
    const atFischer = pptAnalysisSchema.parse(JSON.parse((await analyze('--ppt', '--area-cm2', '1', '--rate-kpa-s', '120', trace)).stdout));
    expect(atFischer.trials[0]).toMatchObject({ valid: false, reason: 'rate-off-target' });
    expect(atFischer.summary).toEqual({ n: 0, meanPptN: null, meanPptKPa: null, sdN: null, cv: null });
  });

  it('a trace without the mark column ends each trial at its release', async () => {
    const lines = rampCsv(7.5, 15, false)
      .split('\n')
      .map((line) => line.split(',').slice(0, 2).join(','));
    const analysis = pptAnalysisSchema.parse(JSON.parse((await analyze('--ppt', file(lines.join('\n')))).stdout));
    expect(analysis.trials).toHaveLength(1);
    expect(analysis.trials[0]).toMatchObject({ onset: 'release', pptN: 15, valid: true });
  });

  it('refuses a bad mark naming the line, and a mark column in the wrong place', async () => {
    await expectRefused(['--ppt', file('t_ms,force_n,mark\n0,0,\n10,1,yes\n')], /line 3: mark must be 1 .*got "yes"/);
    await expectRefused(['--ppt', file('t_ms,force_n,mark\n0,0,,\n')], /line 2: expected 3 columns/);
    await expectRefused(['--ppt', file('t_ms,mark,force_n\n0,0,0\n')], /line 1: the header must be t_ms,force_n, got "t_ms,mark,force_n" \(t_ms,force_n,mark for a trace with PPT marks\)/);
    await expectRefused(['--ppt', file('t_ms,force_n\n0,0,1\n')], /line 2: expected 2 columns/);
  });

  it('refuses flags that do not go together, and values out of range, naming the flag', async () => {
    await expectRefused(['--rate-kpa-s', '50', EXAMPLE], /--rate-kpa-s goes with --ppt/);
    await expectRefused(['--ppt', '--preset', 'neck', EXAMPLE], /--preset is for holds and warnings, not --ppt/);
    await expectRefused(['--ppt', '--format', 'table', EXAMPLE], /--format is for holds and warnings/);
    await expectRefused(['--ppt', '--rate-kpa-s', 'fast', EXAMPLE], /--rate-kpa-s needs a number of kPa per second from 5 to 500 \(got --rate-kpa-s "fast"\)/);
    await expectRefused(['--ppt', '--area-cm2', '0', EXAMPLE], /--area-cm2 needs a number of cm² from 0.1 to 20/);
    await expectRefused(['--ppt', '--area-cm2', '1', '--area-cm2', '2', EXAMPLE], /--area-cm2 is given 2 times/);
  });

  it('the usage names --ppt and its flags', async () => {
    const { stdout } = await analyze('--help');
    expect(stdout).toMatch(/npm run analyze -- --ppt \[--rate-kpa-s R\] \[--area-cm2 A\] TRACE\.csv/);
    expect(stdout).toMatch(/--area-cm2 A/);
  });
});
