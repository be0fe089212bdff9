/**
 * `npm run analyze -- [--config FILE | --preset NAME] [--smooth-ms N] [--format json|table] TRACE.csv`
 * (or `--session ID [--db FILE | --store URL]` for a session the server recorded; or
 * `--ppt [--rate-kpa-s R] [--area-cm2 A] TRACE.csv` for pressure-pain thresholds, docs/ppt.md):
 * runs the pressure engine over a recorded force trace (CSV `t_ms,force_n`) and prints the
 * holds and over-pressure warnings it finds: JSON `{"holds": [...], "warnings": [...]}` on
 * stdout by default (as `test/fixtures/traces/README.md` describes; an open warning has
 * `"endMs": null`), or a table for people. The very engine that runs live, on device time.
 *
 * A recorded session is read from the session store, a SQLite file or a PostgreSQL database
 * (read-only, so it works while the server records) and analyzed with the engine settings it was recorded with, unless
 * --config or --preset says otherwise; its times are ms since its first sample, as the
 * review API gives them.
 *
 * Pipeline position: trace file (`traces/trace-csv.ts`) or recorded session -> optional
 * smoothing -> engine -> stdout. Only the results go to stdout (in a pipe, `npm run -s analyze`
 * keeps npm's own banner off it too). Exit 0 on success; 2 on a wrong flag, config or trace
 * file, with a message on stderr naming the flag, field or line and what is wrong.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { checkedFlag, EXIT_USAGE, pathAsTyped, readEngineConfigFile, parseFlags, UsageError, versionText, wholeNumberFlag, type CliOutput } from './support.ts';
import { PressureEngine, type SampleBatch } from '../engine/engine.ts';
import { ConfigError, DEFAULT_PRESET, PRESET_NAMES, presetConfig, presetNameSchema } from '../engine/presets.ts';
import { formatResultsTable, roundDecimals, roundResults } from '../engine/report.ts';
import type { EngineConfig } from '../engine/results.ts';
import { MovingAverage } from '../engine/smoothing.ts';
import { MARKED_TRACE_CSV_HEADER, TRACE_CSV_HEADER } from '../contract/csv.ts';
import { DEFAULT_PPT_SETTINGS, pptSettingsSchema, type PptAnalysis, type PptSettings } from '../contract/ppt.ts';
import { PptAnalyser } from '../engine/ppt.ts';
import { readTraceCsv, TraceFileError } from '../traces/trace-csv.ts';
import { DEFAULT_DB_PATH } from '../recording/recording.ts';
import { describeStoreTarget, describeStoreTargetError, openStoreAt, type StoreTarget } from '../recording/store-target.ts';
import type { SessionStore } from '../recording/store.ts';
import { storeTargetOfFlags } from './store-flags.ts';

const FORMATS = ['json', 'table'] as const;
const MAX_SMOOTH_MS = 60_000;

export interface AnalyzeOptions {
  /** A config file to read, or null for `preset`. */
  readonly configFile: string | null;
  readonly preset: z.infer<typeof presetNameSchema>;
  /** Moving-average window, or null: no smoothing. */
  readonly smoothMs: number | null;
  readonly format: (typeof FORMATS)[number];
  readonly tracePath: string;
  /** `--session ID`: a recorded session instead of a trace file, read from `store`. */
  readonly session: number | null;
  /** `--db FILE` (default data/knotmeter.db) or `--store URL`: where the session was recorded. */
  readonly store: StoreTarget;
  /** Whether --config or --preset was given (a session otherwise runs with its own settings). */
  readonly engineFromFlags: boolean;
  readonly help: boolean;
  readonly version: boolean;
  /** `--ppt`: pressure-pain thresholds with these settings instead of holds and warnings (null: not asked). */
  readonly ppt: PptSettings | null;
}

export function analyzeUsage(): string {
  return [
    'Usage: npm run analyze -- [--config FILE | --preset NAME] [--smooth-ms N] [--format json|table] TRACE.csv',
    '       npm run analyze -- --session ID [--db FILE | --store URL] [--config FILE | --preset NAME] [--smooth-ms N] [--format json|table]',
    '       npm run analyze -- --ppt [--rate-kpa-s R] [--area-cm2 A] TRACE.csv',
    '',
    'Finds the holds and over-pressure warnings in a force trace, with the same engine as',
    `the live dashboard. TRACE.csv has the header ${TRACE_CSV_HEADER}, then one sample a line`,
    '(device time in ms, force in N). --session analyzes a session the server recorded, with',
    'the settings it was recorded with unless --config or --preset is given.',
    'Only the results go to stdout; in a pipe add -s so npm prints no banner there:',
    '  npm run -s analyze -- trace.csv | jq .holds',
    '',
    'Flags:',
    '  --config FILE      engine settings as JSON: every field, or {"preset": NAME, ...only the fields that differ}',
    `  --preset NAME      one of ${PRESET_NAMES.join(', ')} (default ${DEFAULT_PRESET}, if no --config)`,
    `  --smooth-ms N      average the force over the last N ms first (1 to ${MAX_SMOOTH_MS}; default: no smoothing)`,
    '  --format FORMAT    json (default): {"holds": [...], "warnings": [...]}; table: for people',
    '  --session ID       a recorded session (GET /api/sessions lists them) instead of TRACE.csv',
    '  --db FILE          where the sessions are recorded (default data/knotmeter.db in the project)',
    '  --store URL        or the PostgreSQL database they are recorded in, postgres://USER[:PASSWORD]@HOST:PORT/DB',
    `  --ppt              pressure-pain thresholds instead (docs/ppt.md): {"trials": [...], "summary": {...}}; the trace may have`,
    `                     the header ${MARKED_TRACE_CSV_HEADER} (mark 1 where the person signalled pain)`,
    `  --rate-kpa-s R     with --ppt: the target rate in kPa/s (default ${DEFAULT_PPT_SETTINGS.rateKPaPerS}, the DFNS protocol; Fischer's is 98.0665)`,
    `  --area-cm2 A       with --ppt: the tip's contact area in cm² (default ${DEFAULT_PPT_SETTINGS.areaCm2})`,
    '  --version          print the version and exit',
    '  --help             print this and exit',
  ].join('\n');
}

const flagSchemas = {
  preset: z.enum(PRESET_NAMES, { error: `--preset needs one of ${PRESET_NAMES.join(', ')}` }),
  smoothMs: wholeNumberFlag('--smooth-ms', 1, MAX_SMOOTH_MS, 'milliseconds'),
  format: z.enum(FORMATS, { error: `--format needs one of ${FORMATS.join(', ')}` }),
  config: z.string().min(1, '--config needs a file name'),
  session: wholeNumberFlag('--session', 1, Number.MAX_SAFE_INTEGER),
  rateKPaPerS: decimalFlag('--rate-kpa-s', pptSettingsSchema.shape.rateKPaPerS, 'kPa per second'),
  areaCm2: decimalFlag('--area-cm2', pptSettingsSchema.shape.areaCm2, 'cm²'),
};

/** A flag holding a decimal number that `range` accepts (its message names the bounds). */
function decimalFlag(flag: string, range: z.ZodNumber, unit: string) {
  const needs = `${flag} needs a number of ${unit} from ${range.minValue ?? ''} to ${range.maxValue ?? ''}`;
  return z
    .string()
    .regex(/^\d+(?:\.\d+)?$|^\.\d+$/, needs)
    .transform(Number)
    .refine((value) => range.safeParse(value).success, needs);
}

export function parseAnalyzeArgs(argv: readonly string[]): AnalyzeOptions {
  const { values, positionals } = parseFlags(
    argv,
    {
      config: { type: 'string' },
      preset: { type: 'string' },
      'smooth-ms': { type: 'string' },
      format: { type: 'string' },
      session: { type: 'string' },
      db: { type: 'string' },
      store: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
      ppt: { type: 'boolean' },
      'rate-kpa-s': { type: 'string' },
      'area-cm2': { type: 'string' },
    },
    { allowPositionals: true },
  );
  const help = values.help ?? false;
  const version = values.version ?? false;
  if (values.config !== undefined && values.preset !== undefined) {
    throw new UsageError('give either --config or --preset, not both (a config file can start from a preset: {"preset": "neck", ...})');
  }
  if (values.session !== undefined && positionals.length > 0) {
    throw new UsageError(`give either --session or a trace file, not both (got --session ${values.session} and ${JSON.stringify(positionals[0])})`);
  }
  const storeFlag = (['db', 'store'] as const).find((flag) => values[flag] !== undefined);
  if (storeFlag !== undefined && values.session === undefined) throw new UsageError(`--${storeFlag} goes with --session ID: a trace file is analyzed without the database`);
  if (!help && !version && values.session === undefined && positionals.length === 0) throw new UsageError(`give the trace to analyze, e.g. npm run analyze -- --preset ${DEFAULT_PRESET} trace.csv (see --help)`);
  const ppt = values.ppt ?? false;
  if (!ppt) {
    const pptOnly = (['rate-kpa-s', 'area-cm2'] as const).find((flag) => values[flag] !== undefined);
    if (pptOnly !== undefined) throw new UsageError(`--${pptOnly} goes with --ppt (pressure-pain thresholds): add --ppt, or leave it out`);
  } else {
    const holdsOnly = (['config', 'preset', 'smooth-ms', 'format', 'session', 'db', 'store'] as const).find((flag) => values[flag] !== undefined);
    if (holdsOnly !== undefined) throw new UsageError(`--${holdsOnly} is for holds and warnings, not --ppt: a PPT analysis takes only --rate-kpa-s, --area-cm2 and a trace file`);
  }
  if (positionals.length > 1) {
    throw new UsageError(`one trace at a time: got ${positionals.length} (${positionals.map((name) => JSON.stringify(name)).join(', ')})`);
  }
  return {
    configFile: values.config === undefined ? null : checkedFlag(flagSchemas.config, values.config, '--config'),
    preset: values.preset === undefined ? DEFAULT_PRESET : checkedFlag(flagSchemas.preset, values.preset, '--preset'),
    smoothMs: values['smooth-ms'] === undefined ? null : checkedFlag(flagSchemas.smoothMs, values['smooth-ms'], '--smooth-ms'),
    format: values.format === undefined ? 'json' : checkedFlag(flagSchemas.format, values.format, '--format'),
    tracePath: positionals[0] ?? '',
    session: values.session === undefined ? null : checkedFlag(flagSchemas.session, values.session, '--session'),
    store: storeTargetOfFlags(values, DEFAULT_DB_PATH, 'analyze'),
    engineFromFlags: values.config !== undefined || values.preset !== undefined,
    help,
    version,
    ppt: ppt
      ? {
          ...DEFAULT_PPT_SETTINGS,
          ...(values['rate-kpa-s'] === undefined ? {} : { rateKPaPerS: checkedFlag(flagSchemas.rateKPaPerS, values['rate-kpa-s'], '--rate-kpa-s') }),
          ...(values['area-cm2'] === undefined ? {} : { areaCm2: checkedFlag(flagSchemas.areaCm2, values['area-cm2'], '--area-cm2') }),
        }
      : null,
  };
}

/** The engine settings the options ask for. @throws ConfigError, UsageError */
export function loadEngineConfig(options: AnalyzeOptions): EngineConfig {
  if (options.configFile === null) return presetConfig(options.preset);
  return readEngineConfigFile(pathAsTyped(options.configFile, 'analyze'), options.configFile);
}

/** Runs the whole command; returns the exit code. Tests call it in-process. */
export async function runAnalyze(argv: readonly string[], output: CliOutput): Promise<number> {
  try {
    const options = parseAnalyzeArgs(argv);
    if (options.help || options.version) {
      output.stdout(`${options.help ? analyzeUsage() : versionText()}\n`);
      return 0;
    }
    if (options.ppt !== null) {
      output.stdout(`${JSON.stringify(await analyseTracePpt(options.tracePath, options.ppt), null, 2)}\n`);
      return 0;
    }
    const engine = options.session === null ? new PressureEngine(loadEngineConfig(options)) : null;
    const smoother = options.smoothMs === null ? null : new MovingAverage(options.smoothMs);
    const analyzed = engine ?? (await analyzeSession(options, (batch) => (smoother === null ? batch : smoother.smoothBatch(batch))));
    if (engine !== null) {
      for await (const batch of readTraceCsv(pathAsTyped(options.tracePath, 'analyze'), options.tracePath)) {
        engine.pushBatch(smoother === null ? batch : smoother.smoothBatch(batch));
      }
    }
    analyzed.finish();
    const results = roundResults(analyzed.results());
    output.stdout(options.format === 'json' ? `${JSON.stringify(results, null, 2)}\n` : `${formatResultsTable(results)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError || error instanceof TraceFileError) {
      output.stderr(`knotmeter analyze: ${error.message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
}

/** Times and forces to 3 decimals (as the holds), the coefficient of variation to 4. */
function roundPpt(analysis: PptAnalysis): PptAnalysis {
  const round3 = (value: number): number => roundDecimals(value, 3);
  const orNull = (value: number | null, decimals = 3): number | null => (value === null ? null : roundDecimals(value, decimals));
  const { summary } = analysis;
  return {
    trials: analysis.trials.map((trial) => ({
      ...trial,
      startMs: round3(trial.startMs),
      onsetMs: round3(trial.onsetMs),
      pptN: round3(trial.pptN),
      pptKPa: round3(trial.pptKPa),
      rateNPerS: round3(trial.rateNPerS),
      rateKPaPerS: round3(trial.rateKPaPerS),
    })),
    summary: { n: summary.n, meanPptN: orNull(summary.meanPptN), meanPptKPa: orNull(summary.meanPptKPa), sdN: orNull(summary.sdN), cv: orNull(summary.cv, 4) },
  };
}

/** The PPT trials of a trace file (marks from its `mark` column). @throws TraceFileError */
async function analyseTracePpt(tracePath: string, settings: PptSettings): Promise<PptAnalysis> {
  const analyser = new PptAnalyser(settings);
  for await (const batch of readTraceCsv(pathAsTyped(tracePath, 'analyze'), tracePath)) analyser.pushTrace(batch);
  analyser.finish();
  return roundPpt(analyser.results());
}

/**
 * Runs the engine over a recorded session's samples (its own settings unless the flags
 * give others). @throws UsageError when the database or the session cannot be read.
 */
async function analyzeSession(options: AnalyzeOptions, prepare: (batch: SampleBatch) => SampleBatch): Promise<PressureEngine> {
  const id = options.session ?? 0;
  const where = describeStoreTarget(options.store);
  const unreadable = (error: unknown): UsageError =>
    new UsageError(`cannot read the sessions in ${where}: ${describeStoreTargetError(options.store, error)} (pass ${options.store.kind === 'sqlite' ? '--db with the file' : '--store with the database'} the server records into)`);
  let store: SessionStore;
  try {
    store = openStoreAt(options.store, { readonly: true });
  } catch (error) {
    throw unreadable(error);
  }
  try {
    // A PostgreSQL database is first asked here.
    const session = await store.getSession(id).catch((error: unknown) => {
      throw unreadable(error);
    });
    if (session === null) throw new UsageError(`there is no session ${id} in ${where} (GET /api/sessions lists them)`);
    const engine = new PressureEngine(options.engineFromFlags ? loadEngineConfig(options) : session.engineConfig);
    for await (const chunk of store.readSamples(id)) engine.pushBatch(prepare({ tMs: Array.from(chunk.tMs), forceN: Array.from(chunk.forceN) }));
    return engine;
  } finally {
    await store.close();
  }
}

// Run only as the entry point (`tsx server/cli/analyze.ts`), not when a test imports it.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  process.exitCode = await runAnalyze(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
}
