/**
 * `npm run flash`: puts the Knotmeter firmware on an Arduino through its own bootloader,
 * the way the Arduino IDE's Upload button does, then checks the result: the board found
 * (or taken from --port), the firmware built if needed, the hex written and verified
 * by avrdude (flash-upload.ts says why avrdude) with a progress bar, and the board's
 * HELLO read back: its id, firmware version and sensor are printed.
 *
 *   npm run flash
 *   npm run flash -- --port /dev/ttyACM0 --sensor hx711 --board nano-old
 *
 * Without --port it asks every USB serial port what answers there (port-identity.ts): a
 * Knotmeter or a silent board is a candidate; a port where something else answers
 * (StandardFirmata, a GPS, a printer) is refused by name. Exactly one candidate is
 * flashed; with several, it lists them and asks for --port.
 * Exit code: 0 flashed and answering; 1 it could not (the message says what to do); 2 a bad flag.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { checkedFlag, flagsOrExit, pathAsTyped, parseFlags, UsageError, type CliOutput } from './support.ts';
import { BOARDS, uploadHex, type BoardName, type UploadPhase } from './flash-upload.ts';
import { checkPortOpens, describeIdentity, identifyPort, type PortIdentity } from './port-identity.ts';
import { DEFAULT_SCAN_PATTERNS, isBuiltInUart, listSerialPorts, type ListSerialPortsOptions } from '../../device/protocol/port-discovery.ts';
import { firmwareHex } from '../../device/transports/emulator.ts';
import { sensorKindSchema, type SensorKind } from '../../device/transport.ts';

/** After the upload the board resets into the bootloader once more when the port opens: its second, then ours. */
const HELLO_AFTER_FLASH_TIMEOUT_MS = 8000;
const BAR_WIDTH = 30;

export function flashUsage(): string {
  return [
    'Usage: npm run flash -- [--port PATH] [--sensor fsr|hx711] [--board uno|nano|nano-old]',
    '',
    'Builds the firmware if needed, uploads it through the board\'s Arduino bootloader (avrdude),',
    'verifies it, and waits for the firmware\'s HELLO: prints the device id, version and sensor.',
    '',
    '  --port PATH     the board\'s serial port; default: the one USB serial port where a board is',
    '                  found (a Knotmeter, or a board that answers nothing); others are refused',
    '  --sensor KIND   fsr (default) or hx711: which firmware build',
    '  --board NAME    uno (default; Optiboot, 115200 baud), nano (current bootloader, 115200),',
    '                  nano-old (ATmegaBOOT, 57600: Nanos sold before 2018 and most clones)',
    `  --scan PATTERN  also look at these names (a * in the last part only); default ${DEFAULT_SCAN_PATTERNS.join(' ')}`,
    '  --version       print the version and exit',
    '  --help          print this and exit',
  ].join('\n');
}

export interface FlashOptions {
  readonly port: string | null;
  readonly sensor: SensorKind;
  readonly board: BoardName;
  /** --scan: names looked at besides the default ones. */
  readonly extraPatterns: readonly string[];
  readonly help: boolean;
  readonly version: boolean;
}

const boardSchema = z.enum(Object.keys(BOARDS) as [BoardName, ...BoardName[]], { error: `--board must be one of ${Object.keys(BOARDS).join(', ')}` });
const sensorSchema = z.enum(sensorKindSchema.options, { error: `--sensor must be ${sensorKindSchema.options.join(' or ')}` });

export function parseFlashArgs(argv: readonly string[]): FlashOptions {
  const { values } = parseFlags(
    argv,
    {
      port: { type: 'string' },
      sensor: { type: 'string' },
      board: { type: 'string' },
      scan: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
    { repeatable: ['scan'] },
  );
  if (values.port === '') throw new UsageError('--port needs a path, e.g. --port /dev/ttyACM0');
  return {
    port: values.port === undefined ? null : pathAsTyped(values.port, 'flash'),
    sensor: values.sensor === undefined ? 'fsr' : checkedFlag(sensorSchema, values.sensor, '--sensor'),
    board: values.board === undefined ? 'uno' : checkedFlag(boardSchema, values.board, '--board'),
    extraPatterns: (values.scan ?? []).map((pattern) => pathAsTyped(pattern, 'flash')),
    help: values.help ?? false,
    version: values.version ?? false,
  };
}

/** A failure the user can act on: printed as `knotmeter flash: MESSAGE`, exit 1. */
class FlashError extends Error {}

/** Where the command looks and draws; tests replace the lister and the default names so that no real board is ever touched. */
export interface FlashEnvironment {
  readonly isTty: boolean;
  readonly listPorts?: ListSerialPortsOptions['list'];
  readonly defaultPatterns?: readonly string[];
}

/** Runs the whole command; returns the exit code. */
export async function runFlash(argv: readonly string[], output: CliOutput, environment: FlashEnvironment = { isTty: false }): Promise<number> {
  const flags = flagsOrExit(argv, output, { program: 'flash', parse: parseFlashArgs, usage: flashUsage });
  if (typeof flags === 'number') return flags;
  try {
    await flash(flags, output, environment);
    return 0;
  } catch (error) {
    if (!(error instanceof FlashError)) throw error;
    output.stderr(`knotmeter flash: ${error.message}\n`);
    return 1;
  }
}

async function flash(flags: FlashOptions, output: CliOutput, environment: FlashEnvironment): Promise<void> {
  const board = BOARDS[flags.board];
  const port = flags.port ?? (await findBoard(flags, environment, output));
  // avrdude takes no lock and says little about a port it cannot open: ask first
  const opens = await checkPortOpens(port);
  if (opens !== null) throw new FlashError(opens);
  output.stderr(`building the ${flags.sensor} firmware (make, if anything changed)...\n`);
  const hexPath = await firmwareHex(flags.sensor).catch((error: unknown) => {
    throw new FlashError(error instanceof Error ? error.message : String(error));
  });
  output.stderr(`uploading ${hexPath} to ${port} (${board.name}, ${board.bootloader} at ${board.baudRate} baud)\n`);
  const bar = new ProgressBar(output, environment.isTty);
  const result = await uploadHex({ port, board, hexPath, onProgress: (phase, fraction) => bar.show(phase, fraction) });
  bar.end();
  if (!result.ok) throw new FlashError(result.message);
  output.stderr(`${result.bytes} bytes written and verified; waiting for the firmware's HELLO...\n`);
  const identity = await identifyPort(port, HELLO_AFTER_FLASH_TIMEOUT_MS);
  if (identity.kind !== 'knotmeter') {
    throw new FlashError(`the upload verified, but the firmware did not say HELLO on ${port}: ${describeIdentity(identity)}. Check --sensor matches the board's wiring, unplug and replug it, then \`npm run ports\`.`);
  }
  const hello = identity.hello;
  output.stdout(`Flashed ${port} (${board.name}): Knotmeter ${hello.deviceId}, firmware ${hello.firmwareVersion}, sensor ${hello.sensor}\n`);
  output.stdout(`use it with: npm start -- --device serial:${port}\n`);
}

/** The one port to flash when none is named; throws naming what was found. */
async function findBoard(flags: FlashOptions, environment: FlashEnvironment, output: CliOutput): Promise<string> {
  const patterns = [...(environment.defaultPatterns ?? DEFAULT_SCAN_PATTERNS), ...flags.extraPatterns];
  const { ports, listError } = await listSerialPorts({ patterns, ...(environment.listPorts === undefined ? {} : { list: environment.listPorts }) });
  const asked = ports.filter((port) => !isBuiltInUart(port));
  if (asked.length === 0) {
    const looked = `SerialPort.list()${listError === null ? '' : ` (failed: ${listError})`} and ${patterns.join(', ')}`;
    throw new FlashError(`no board found (looked at ${looked}): plug the Arduino in by USB (a data cable, not a charging-only one), or name its port with --port`);
  }
  output.stderr(`looking for the board on ${asked.map((port) => port.path).join(', ')}...\n`);
  const identities = await Promise.all(asked.map(async (port) => ({ path: port.path, identity: await identifyPort(port.path) })));
  const candidates = identities.filter(({ identity }) => isFlashable(identity));
  const refused = identities.filter(({ identity }) => !isFlashable(identity));
  const listing = (entries: typeof identities): string => entries.map(({ path, identity }) => `${path}: ${describeIdentity(identity)}`).join('; ');
  const [only, ...more] = candidates;
  if (only !== undefined && more.length === 0) {
    if (refused.length > 0) output.stderr(`not flashing ${listing(refused)}\n`);
    output.stderr(`found ${only.path}: ${describeIdentity(only.identity)}\n`);
    return only.path;
  }
  if (only !== undefined) throw new FlashError(`several boards could be flashed (${listing(candidates)}): name one with --port`);
  throw new FlashError(`no board to flash: ${listing(refused)}. If one of them is the board, name it with --port to flash it anyway.`);
}

/** Ours (to update) or silent (a board without it): anything that answers otherwise is someone else's. */
function isFlashable(identity: PortIdentity): boolean {
  return identity.kind === 'knotmeter' || identity.kind === 'silent';
}

/** On a terminal one line redrawn in place; elsewhere a line at each quarter. */
class ProgressBar {
  readonly #output: CliOutput;
  readonly #isTty: boolean;
  #shown = new Map<UploadPhase, number>();
  #drawn = false;

  constructor(output: CliOutput, isTty: boolean) {
    this.#output = output;
    this.#isTty = isTty;
  }

  show(phase: UploadPhase, fraction: number): void {
    const step = this.#isTty ? Math.floor(fraction * BAR_WIDTH) : Math.floor(fraction * 4);
    if ((this.#shown.get(phase) ?? -1) >= step) return;
    this.#shown.set(phase, step);
    const filled = Math.round(fraction * BAR_WIDTH);
    const line = `${phase.padEnd(9)} [${'#'.repeat(filled)}${' '.repeat(BAR_WIDTH - filled)}] ${String(Math.round(fraction * 100)).padStart(3)} %`;
    if (this.#isTty) {
      this.#output.stderr(`\r${line}${fraction >= 1 ? '\n' : ''}`);
      this.#drawn = fraction < 1;
    } else {
      this.#output.stderr(`${line}\n`);
    }
  }

  end(): void {
    if (this.#drawn) this.#output.stderr('\n');
    this.#drawn = false;
  }
}

// Run only as the entry point (`tsx server/cli/flash.ts`), not when a test imports it.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  process.exitCode = await runFlash(
    process.argv.slice(2),
    {
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
    },
    { isTty: process.stderr.isTTY },
  );
}
