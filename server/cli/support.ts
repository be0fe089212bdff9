/**
 * What every command line of the project shares (`npm start`, `npm run analyze`):
 * the error a wrong flag becomes (the CLI prints it and exits 2), flag validation that
 * names the flag and what it needs, reading an engine config file, and what `--version`
 * prints.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { ConfigError, parseEngineConfig } from '../engine/presets.ts';
import type { EngineConfig } from '../engine/results.ts';
import { EXIT_USAGE, UsageError } from '../errors.ts';

/** `knotmeter VERSION`, the version in package.json: what every command's `--version` prints. */
export function versionText(): string {
  const packageJson: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const version = z.object({ version: z.string() }).parse(packageJson).version;
  return `knotmeter ${version}`;
}

// Declared in server/errors.ts, where the server library (which may not import cli/) throws it too.
export { EXIT_USAGE, UsageError } from '../errors.ts';

/** The flag's value as `schema` reads it, or a `UsageError` with the schema's message and what was given (as `shown`: a password masked). */
export function checkedFlag<T>(schema: z.ZodType<T>, value: unknown, flag: string, shown: unknown = value): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const reason = result.error.issues[0]?.message ?? 'is not valid';
  throw new UsageError(`${reason} (got ${flag} ${JSON.stringify(shown)})`);
}

/** A flag holding a whole number from `min` to `max` (as text, as parseArgs gives it). */
export function wholeNumberFlag(flag: string, min: number, max: number, unit = '') {
  const needs = `${flag} needs a whole number${unit === '' ? '' : ` of ${unit}`} from ${min} to ${max}`;
  return z
    .string()
    .regex(/^\d+$/, needs)
    .transform(Number)
    .refine((value) => value >= min && value <= max, needs);
}

/** Node's parseArgs messages, reworded to name the flag and point at --help. */
export function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = /Unknown option '([^']+)'/.exec(message);
  if (unknown) return `unknown flag ${unknown[1]} (see --help for the flags)`;
  const missing = /Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(message);
  if (missing) return `${missing[1]} needs a value`;
  const ambiguous = /Option '(?:-\w, )?(--[\w-]+)' argument is ambiguous/.exec(message);
  if (ambiguous) return `${ambiguous[1]} needs a value; for one that starts with a dash write ${ambiguous[1]}=VALUE`;
  const noValue = /Option '(?:-\w, )?(--[\w-]+)' does not take an argument/.exec(message);
  if (noValue) return `${noValue[1]} takes no value`;
  const positional = /Unexpected argument '([^']+)'/.exec(message);
  if (positional) return `unexpected argument "${positional[1]}": every setting is a flag (see --help)`;
  return message;
}

/**
 * Refuses a flag given more than once: parseArgs keeps the last without a word, and
 * `--preset neck --preset shoulders` is a mistake to name. Pass parseArgs' `tokens`
 * (`tokens: true`) and the flags that may repeat. @throws UsageError
 */
export function refuseRepeatedFlags(tokens: readonly { readonly kind: string; readonly name?: string; readonly value?: string | undefined }[], repeatable: readonly string[] = []): void {
  const seen = new Map<string, string[]>();
  for (const token of tokens) {
    if (token.kind !== 'option' || token.name === undefined || repeatable.includes(token.name)) continue;
    seen.set(token.name, [...(seen.get(token.name) ?? []), token.value ?? '']);
  }
  for (const [name, given] of seen) {
    if (given.length > 1) throw new UsageError(`--${name} is given ${given.length} times (${given.map((value) => JSON.stringify(value)).join(', ')}): give it once`);
  }
}

/**
 * Strict flags, each given once unless named in `repeatable`, positionals only when
 * `allowPositionals`: what every command's parseArgs call wants. Returns parseArgs' result.
 * @throws UsageError naming the flag, in the words of describeParseError / refuseRepeatedFlags
 */
export function parseFlags<const Options extends NonNullable<ParseArgsConfig['options']>>(
  argv: readonly string[],
  options: Options,
  { repeatable = [], allowPositionals = false }: { readonly repeatable?: readonly string[]; readonly allowPositionals?: boolean } = {},
) {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], strict: true, allowPositionals, tokens: true, options });
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
  refuseRepeatedFlags(parsed.tokens, repeatable);
  return parsed;
}

/**
 * Reads and validates an engine config file (`--config`). `shownAs` is how the user
 * wrote the path, for messages.
 * @throws UsageError when the file cannot be read; ConfigError naming each wrong field.
 */
export function readEngineConfigFile(path: string, shownAs: string): EngineConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    const reason = code === 'ENOENT' ? 'no such file' : error instanceof Error ? error.message : String(error);
    throw new UsageError(`--config ${shownAs}: cannot read it (${reason})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`--config ${shownAs}`, [`not valid JSON (${error instanceof Error ? error.message : String(error)})`]);
  }
  return parseEngineConfig(json, `--config ${shownAs}`);
}

/**
 * A path from the command line of `npm run SCRIPT`: npm starts the script in the package
 * root, so a relative path means relative to where the user typed it (npm's INIT_CWD).
 */
export function pathAsTyped(path: string, script: string): string {
  const typedIn = process.env.npm_lifecycle_event === script ? process.env.INIT_CWD : undefined;
  return typedIn === undefined || typedIn === '' ? path : resolve(typedIn, path);
}

/** Where a command prints: the process's streams, or a test's strings. */
export interface CliOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

/**
 * A command's first step: its flags, or the exit code when there is nothing more to do
 * (0 after printing usage or the version; EXIT_USAGE after naming a bad flag on stderr as
 * `knotmeter PROGRAM: ...`).
 */
export function flagsOrExit<Flags extends { readonly help: boolean; readonly version: boolean }>(
  argv: readonly string[],
  output: CliOutput,
  command: { readonly program: string; readonly parse: (argv: readonly string[]) => Flags; readonly usage: () => string },
): Flags | number {
  let flags;
  try {
    flags = command.parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    output.stderr(`knotmeter ${command.program}: ${error.message}\n`);
    return EXIT_USAGE;
  }
  if (flags.help || flags.version) {
    output.stdout(`${flags.help ? command.usage() : versionText()}\n`);
    return 0;
  }
  return flags;
}
