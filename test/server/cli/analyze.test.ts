// `npm run analyze`: flags, config files, trace files, output formats and exit codes. Most
// cases run the command in-process (runAnalyze, as the CLI does); a few spawn it for real
// to check the exit code and streams a user sees.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MAX_TRACE_LINE_CHARS } from '../../../server/traces/trace-csv.ts';
import { analyze, expectRefused, scratchFiles } from '../../support/analyze.ts';
import { REPO_ROOT, runTsx } from '../../support/cli.ts';

const TRACES = fileURLToPath(new URL('../../fixtures/traces/', import.meta.url));
const OVERPRESSURE = `${TRACES}example_overpressure.csv`;
const PACKAGE_VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const { dir: scratch, file } = scratchFiles('knotmeter-analyze-');

describe('npm run analyze: output', () => {
  it('prints {"holds", "warnings"} JSON; with no --config it uses the shoulders preset', async () => {
    const result = await analyze(OVERPRESSURE);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      holds: [{ startMs: 1530, endMs: 16_390, durationMs: 14_860, meanN: 28.491, peakN: 49.912, timeInBandMs: 12_840, timeOverMs: 1620 }],
      warnings: [{ startMs: 8140, alertMs: 8240, endMs: 9820, peakN: 49.912 }],
    });
  });

  it('prints an open warning with "endMs": null', async () => {
    const trace = file(['t_ms,force_n', ...Array.from({ length: 400 }, (_, index) => `${index * 10},${index < 100 ? 20 : 50}`)].join('\n'));
    const { stdout } = await analyze('--preset', 'shoulders', trace);
    expect(stdout).toContain('"endMs": null');
    expect(JSON.parse(stdout)).toMatchObject({ warnings: [{ startMs: 1000, alertMs: 1100, endMs: null, peakN: 50 }] });
  });

  it('uses the preset it is given, or a config file that starts from one', async () => {
    const neck = JSON.parse((await analyze('--preset', 'neck', OVERPRESSURE)).stdout) as { holds: unknown[]; warnings: { startMs: number }[] };
    // The neck's limit is 25 N: the whole press is over it.
    expect(neck.warnings.map((warning) => warning.startMs)).not.toEqual([8140]);
    const config = file(JSON.stringify({ preset: 'shoulders', overLimitN: 48, overClearN: 44 }), 'json');
    const custom = JSON.parse((await analyze('--config', config, OVERPRESSURE)).stdout) as { warnings: { startMs: number; alertMs: number }[] };
    expect(custom.warnings).toHaveLength(1);
    expect(custom.warnings[0]?.startMs).toBeGreaterThan(8140);
  });

  it('prints a table for people with --format table', async () => {
    const { code, stdout } = await analyze('--format', 'table', OVERPRESSURE);
    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        'Holds: 1',
        '  #  start s   end s  duration s  mean N  peak N  in band s  over s',
        '  1    1.530  16.390      14.860   28.49   49.91     12.840   1.620',
        '',
        'Over-pressure warnings: 1',
        '  #  start s  alert s  end s  peak N',
        '  1    8.140    8.240  9.820   49.91',
        '',
      ].join('\n'),
    );
  });

  it('smooths only when asked: --smooth-ms lowers a short peak', async () => {
    const plain = JSON.parse((await analyze(OVERPRESSURE)).stdout) as { holds: { peakN: number }[] };
    const smoothed = JSON.parse((await analyze('--smooth-ms', '200', OVERPRESSURE)).stdout) as { holds: { peakN: number }[]; warnings: unknown[] };
    expect(smoothed.holds).toHaveLength(1);
    expect(smoothed.warnings).toHaveLength(1);
    expect(smoothed.holds[0]?.peakN).toBeLessThan(plain.holds[0]?.peakN ?? 0);
  });

  it('prints its usage with --help, and its version with --version', async () => {
    expect(await analyze('--version')).toEqual({ code: 0, stdout: `knotmeter ${PACKAGE_VERSION}\n`, stderr: '' });
    const { code, stdout } = await analyze('--help');
    expect(code).toBe(0);
    expect(stdout).toContain('npm run -s analyze -- trace.csv | jq');
    expect(stdout).toMatch(/^Usage: npm run analyze -- \[--config FILE \| --preset NAME\] \[--smooth-ms N\] \[--format json\|table\] TRACE\.csv/);
  });
});

describe('npm run analyze: a bad trace file exits 2 naming the line', () => {
  it('no header', async () => {
    await expectRefused([file('0,0.0\n10,1.0\n')], /file-\d+\.csv: line 1: no header: the first line must be t_ms,force_n/);
    await expectRefused([file('time,force\n0,0\n')], /line 1: the header must be t_ms,force_n, got "time,force"/);
  });

  it('a value that is not a number', async () => {
    await expectRefused([file('t_ms,force_n\n0,1\n10,abc\n')], /line 3: force_n is not a number: "abc"/);
    await expectRefused([file('t_ms,force_n\n0,1\n0x10,2\n')], /line 3: t_ms is not a number: "0x10"/);
    await expectRefused([file('t_ms,force_n\n0,1\n10,\n')], /line 3: force_n is empty/);
    await expectRefused([file('t_ms,force_n\n0,1\n10,NaN\n')], /line 3: force_n is not a number: "NaN"/);
  });

  it('time going backwards', async () => {
    await expectRefused([file('t_ms,force_n\n0,1\n10,1\n20,1\n15,1\n')], /line 5: time goes backwards: t_ms 15 comes after 20 \(line 4\)/);
  });

  it('a wrong column count', async () => {
    await expectRefused([file('t_ms,force_n\n0,1\n10,1,3\n')], /line 3: expected 2 columns \(t_ms,force_n\), got 3: "10,1,3"/);
    await expectRefused([file('t_ms,force_n\n0,1\n10\n')], /line 3: expected 2 columns \(t_ms,force_n\), got 1/);
  });

  it('an empty file, or a header with no samples', async () => {
    await expectRefused([file('')], /the file is empty: a trace starts with the header t_ms,force_n/);
    await expectRefused([file('t_ms,force_n\n\n')], /no samples after the header t_ms,force_n/);
  });

  it('a line far too long to be a sample (not a trace at all)', async () => {
    await expectRefused([file(`t_ms,force_n\n0,1\n${'9'.repeat(MAX_TRACE_LINE_CHARS * 3)}`)], new RegExp(`line 3: longer than ${MAX_TRACE_LINE_CHARS} characters`));
  });

  it('a file that does not exist, or is a directory', async () => {
    await expectRefused([join(scratch, 'missing.csv')], /missing\.csv: no such file/);
    await expectRefused([scratch], /is a directory, not a trace file/);
  });

  it('accepts CRLF line ends, a byte order mark, blank lines and equal times', async () => {
    const lines = ['\uFEFFt_ms,force_n', ...Array.from({ length: 1000 }, (_, index) => `${Math.floor(index / 2) * 10}, ${index < 960 ? 20 : 0}`), '', ''];
    const result = await analyze(file(lines.join('\r\n')));
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({ holds: [{ startMs: 0, endMs: 4790, meanN: 20 }] });
  });
});

describe('npm run analyze: bad flags and configs exit 2 naming them', () => {
  it('flags', async () => {
    await expectRefused(['--preset', 'knee', OVERPRESSURE], /--preset needs one of neck, shoulders, upper-back \(got --preset "knee"\)/);
    await expectRefused(['--format', 'xml', OVERPRESSURE], /--format needs one of json, table/);
    await expectRefused(['--smooth-ms', '0', OVERPRESSURE], /--smooth-ms needs a whole number of milliseconds from 1 to 60000 \(got --smooth-ms "0"\)/);
    await expectRefused(['--smooth-ms', 'soft', OVERPRESSURE], /--smooth-ms needs a whole number/);
    await expectRefused(['--colour', OVERPRESSURE], /unknown flag --colour/);
    await expectRefused([OVERPRESSURE, '--config'], /--config needs a value/);
    await expectRefused(['--preset', 'neck', '--config', 'x.json', OVERPRESSURE], /give either --config or --preset, not both/);
    await expectRefused([], /give the trace to analyze/);
    await expectRefused([OVERPRESSURE, OVERPRESSURE], /one trace at a time: got 2/);
    await expectRefused(['--preset', 'neck', '--preset', 'shoulders', OVERPRESSURE], /--preset is given 2 times \("neck", "shoulders"\): give it once/);
    await expectRefused(['--version', OVERPRESSURE, '--version'], /--version is given 2 times/);
  });

  it('config files', async () => {
    await expectRefused(['--config', join(scratch, 'none.json'), OVERPRESSURE], /--config .*none\.json: cannot read it \(no such file/);
    await expectRefused(['--config', file('{"preset": "neck",', 'json'), OVERPRESSURE], /\.json: not valid JSON/);
    await expectRefused(['--config', file('{"preset": "neck", "overClearN": 30}', 'json'), OVERPRESSURE], /\.json: overClearN \(30 N\) must be below overLimitN \(25 N\)/);
    await expectRefused(['--config', file('{"preset": "neck", "holdMinMs": -1}', 'json'), OVERPRESSURE], /holdMinMs must be a time above 0 ms, got -1/);
  });
});

describe('the example traces README', () => {
  it('names only files that exist (in its folder or the repository), and its command prints the expected results', async () => {
    const readme = readFileSync(join(TRACES, 'README.md'), 'utf8');
    const named = [...readme.matchAll(/`([\w./-]+\.(?:json|csv|ts|md))`/g)].map((match) => match[1] ?? '').filter((name) => !name.startsWith('NAME'));
    expect(named.length).toBeGreaterThan(3);
    expect(named.filter((name) => !existsSync(join(TRACES, name)) && !existsSync(join(REPO_ROOT, name)))).toEqual([]);
    const command = /`npm run -s analyze -- (--config \S+ \S+\.csv)`/.exec(readme.replaceAll('\n', ' '));
    expect(command).not.toBeNull();
    const args = (command?.[1] ?? '').split(' ').map((arg) => (arg.startsWith('--') ? arg : join(TRACES, arg)));
    const result = await analyze(...args);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ warnings: [{ startMs: 8140 }] });
  });
});

describe('npm run analyze as a process', () => {
  it('exits 2 with the message on stderr and nothing on stdout', async () => {
    const result = await runTsx('server/cli/analyze.ts', [file('t_ms,force_n\n0,1\n-5,1\n')]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^knotmeter analyze: .*file-\d+\.csv: line 3: time goes backwards/);
  });

  it('prints its version with --version, exit 0', async () => {
    const result = await runTsx('server/cli/analyze.ts', ['--version']);
    expect(result).toEqual({ code: 0, stdout: `knotmeter ${PACKAGE_VERSION}\n`, stderr: '' });
  });

  it('through npm run -s, stdout is the JSON alone, and a relative path is where the command was typed', { timeout: 30_000 }, async () => {
    const child = spawn('npm', ['--prefix', REPO_ROOT, 'run', '-s', 'analyze', '--', 'example_overpressure.csv'], { cwd: TRACES, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(stdout)).toMatchObject({ holds: [{ startMs: 1530 }], warnings: [{ alertMs: 8240 }] });
  });

  it('exits 2 on a bad flag and 0 on --help', async () => {
    const bad = await runTsx('server/cli/analyze.ts', ['--format', 'yaml', OVERPRESSURE]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--format needs one of json, table');
    const help = await runTsx('server/cli/analyze.ts', ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: npm run analyze');
  });
});
