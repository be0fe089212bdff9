/**
 * The emulated massager: a TypeScript handle on `knotmeter-emu` (device/emulator), the
 * simavr harness that runs a real ATmega328P hex in real time. It builds the harness when
 * needed (make), spawns it, validates every line it prints, and offers what tests and the
 * dashboard need: the UART's pseudo-terminal path (open it with `serialport`), the sensor
 * inputs (A0 in millivolts, the HX711's raw code, or a force profile in newtons through the
 * default calibration curves), the thumb button, the output pins D13/D6/D9 with their
 * emulated times, and the emulated clock.
 *
 *   const emulator = await Emulator.start({ hexPath: 'device/firmware/build/knotmeter-fsr.hex' });
 *   const port = new SerialPort({ path: emulator.ptyPath, baudRate: 115200 });
 *   emulator.onPinChange((change) => ...);
 *   await emulator.setAnalogMillivolts(2500);
 *   const drive = await emulator.driveForce({ kind: 'csv', csv: 't_ms,force_n\n0,0\n500,30\n' });
 *   await drive.done;
 *   await emulator.stop();
 *
 * The control protocol underneath is documented in device/emulator/README.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { FSR_DEFAULT_HALF_SCALE_N, FSR_RAW_MAX, HX711_DEFAULT_COUNTS_PER_N, SENSOR_RAW_RANGE } from '../sensors.ts';
import { ForceModel } from '../simulator/force-model.ts';
import { SCENARIOS, SHOULDERS_BAND, type SimulatedBand } from '../simulator/scenarios.ts';
import { sensorKindSchema, type SensorKind } from '../transport.ts';

const EMULATOR_DIR = dirname(fileURLToPath(import.meta.url));
/** The harness binary that `make` builds. */
export const HARNESS_PATH = join(EMULATOR_DIR, 'build', 'knotmeter-emu');
/** Arduino's Optiboot for the Uno/Nano, as `buildOptiboot()` builds it. */
export const OPTIBOOT_PATH = join(EMULATOR_DIR, 'build', 'optiboot-atmega328p.hex');
/** The same Optiboot built for an ATmega328 without the P: it reports that chip's signature (a wrong board for our firmware). */
export const OPTIBOOT_ATMEGA328_PATH = join(EMULATOR_DIR, 'build', 'optiboot-atmega328.hex');

/** AVCC of the emulated Uno: the ADC's reference and the top of its input range. */
export const AVCC_MILLIVOLTS = 5000;
/** The HX711's signed 24-bit range (-8388608..8388607), as device/sensors.ts has it. */
export const HX711_RAW_MIN = SENSOR_RAW_RANGE.hx711.min;
export const HX711_RAW_MAX = SENSOR_RAW_RANGE.hx711.max;

// ---------------------------------------------------------------- harness events

const emulatedUs = z.number().int().nonnegative();
const commandId = z.union([z.number(), z.string()]).nullable();
const outputPin = z.enum(['D13', 'D6', 'D9']);
const pwmSchema = z.strictObject({
  dutyRatio: z.number().min(0).max(1),
  /** null when the timer runs from an external clock. */
  frequencyHz: z.number().positive().nullable(),
});

/** Every line the harness prints, as a schema: anything else is a protocol error. */
export const emulatorEventSchema = z.discriminatedUnion('event', [
  z.strictObject({
    event: z.literal('ready'),
    pty: z.string().min(1),
    mcu: z.literal('atmega328p'),
    frequencyHz: z.number().int().positive(),
    realtime: z.boolean(),
    hx711: z.boolean(),
    uart: z.enum(['chip', 'simavr']),
    /** The bootloader's first byte address (every reset starts there), or -1 without one. */
    bootloader: z.number().int().min(-1),
    pid: z.number().int().positive(),
  }),
  z.strictObject({
    event: z.literal('pin'),
    pin: outputPin,
    /** 0 or 1; under PWM the duty ratio (the pin's mean level). */
    level: z.number().min(0).max(1),
    emulatedUs,
    /** The host's monotonic clock when the board showed it: what a host-driven pin (a Firmata blink) is timed by. */
    hostUs: z.number().int().nonnegative(),
    pwm: pwmSchema.nullable(),
  }),
  z.strictObject({ event: z.literal('uart'), baud: z.number().positive(), frameBits: z.number().int().min(7).max(13), emulatedUs }),
  /** A host (re)configured the pty, as serial libraries do when they open a port; 0: baud unknown. */
  z.strictObject({ event: z.literal('serialOpened'), baud: z.number().int().nonnegative(), emulatedUs }),
  z.strictObject({
    event: z.literal('hx711'),
    state: z.enum(['powerDown', 'powerUp', 'gain']),
    channel: z.enum(['A', 'B']),
    gain: z.union([z.literal(128), z.literal(64), z.literal(32)]),
    emulatedUs,
  }),
  /** The HX711 made a conversion ready (DOUT low) holding `raw`; only with `hx711DataEvents`. */
  z.strictObject({ event: z.literal('hx711Data'), raw: z.number().int().min(HX711_RAW_MIN).max(HX711_RAW_MAX), emulatedUs }),
  z.strictObject({ event: z.literal('reset'), emulatedUs }),
  z.strictObject({ event: z.literal('ok'), id: commandId, cmd: z.string(), queued: z.number().int().nonnegative().optional(), emulatedUs }),
  z.strictObject({ event: z.literal('time'), id: commandId, emulatedUs, hostUs: z.number().int().nonnegative(), lagLostUs: z.number().int().nonnegative() }),
  z.strictObject({ event: z.literal('error'), id: commandId.optional(), message: z.string(), emulatedUs: emulatedUs.optional() }),
  z.strictObject({ event: z.literal('log'), level: z.enum(['error', 'warning']), message: z.string(), emulatedUs: emulatedUs.optional() }),
  z.strictObject({ event: z.literal('lag'), lostUs: z.number().int().positive(), emulatedUs }),
  z.strictObject({
    event: z.literal('serialDropped'),
    reason: z.enum(['overrun', 'ptyFull', 'unread']),
    bytes: z.number().int().positive(),
    emulatedUs,
  }),
  z.strictObject({ event: z.literal('halted'), state: z.enum(['done', 'crashed']), emulatedUs }),
  z.strictObject({ event: z.literal('exit'), reason: z.string(), emulatedUs }),
  z.strictObject({ event: z.literal('fatal'), message: z.string(), emulatedUs: emulatedUs.optional() }),
]);
export type EmulatorEvent = z.infer<typeof emulatorEventSchema>;
export type OutputPin = z.infer<typeof outputPin>;
/** A change of D13, D6 or D9: its level (0/1, or the duty ratio under PWM) at an emulated time. */
export type PinChange = Omit<Extract<EmulatorEvent, { event: 'pin' }>, 'event'>;

/** A `pin` event as the change it reports. */
export function pinChangeOf(event: Extract<EmulatorEvent, { event: 'pin' }>): PinChange {
  return { pin: event.pin, level: event.level, emulatedUs: event.emulatedUs, hostUs: event.hostUs, pwm: event.pwm };
}
/** `Emulator.clocks()`. */
export type EmulatorClocks = Omit<Extract<EmulatorEvent, { event: 'time' }>, 'event' | 'id'>;

// ---------------------------------------------------------------- options and profiles

export const emulatorOptionsSchema = z.strictObject({
  /** An Intel hex for the ATmega328P (our firmware, StandardFirmata, a test program); optional with a bootloader (erased flash). */
  hexPath: z.string().min(1).optional(),
  /**
   * A bootloader hex for the boot section, started by every reset (the BOOTRST fuse); a host
   * opening the port resets with EXTRF, as a board's DTR does. `buildOptiboot()` makes Arduino's.
   */
  bootloaderPath: z.string().min(1).optional(),
  /** fsr (default): forces drive A0. hx711: an HX711 is attached on D2/D3 and forces drive it. */
  sensor: sensorKindSchema.optional(),
  /** Throttle to the wall clock (default true); false runs as fast as the host allows. */
  realtime: z.boolean().optional(),
  /** The HX711's output data rate (its RATE pin): 10 or 80 Hz, default 80. */
  hx711RateHz: z.union([z.literal(10), z.literal(80)]).optional(),
  /** Report every conversion the HX711 makes ready as an `hx711Data` event (default false). */
  hx711DataEvents: z.boolean().optional(),
  /** Keep the EEPROM in this file (1024 bytes) across runs; default: fresh (erased) each run. */
  eepromPath: z.string().min(1).optional(),
  /** chip (default): real 10-bit 8N1 frames and a 2-byte receive buffer; simavr: simavr's own. */
  uart: z.enum(['chip', 'simavr']).optional(),
  /** Reset the AVR when a host opens the pty, as an Uno does through DTR (default true). */
  resetOnOpen: z.boolean().optional(),
  /** UART output nobody reads for this long is discarded (default 2000 ms; 0 keeps it). */
  dropUnreadMs: z.number().int().min(0).max(3_600_000).optional(),
  /** How long to wait for the harness to come up (default 30 s, a build included). */
  startTimeoutMs: z.number().int().positive().optional(),
});
export type EmulatorOptions = z.infer<typeof emulatorOptionsSchema>;

/** Builds Arduino's Optiboot for the ATmega328P (and for the ATmega328) from the source Debian ships (make; see the Makefile for why not Debian's hex); resolves to the ATmega328P's hex. */
export async function buildOptiboot(): Promise<string> {
  const { code, output } = await runBuild('make', ['-s', MAKE_JOBS, '-C', EMULATOR_DIR, 'optiboot']);
  if (code !== 0) throw new Error(`building Optiboot failed (make exited with ${code}; it needs gcc-avr, avr-libc and arduino-core-avr):\n${output}`);
  return OPTIBOOT_PATH;
}

/** A force over time, in newtons, replayed against the emulated clock. */
export type ForceProfile =
  /** A function of the time since the drive started. Sampled at `sampleHz` (default 1000). */
  | { kind: 'function'; forceN: (elapsedMs: number) => number; durationMs?: number; sampleHz?: number }
  /** A trace as CSV text, `t_ms,force_n` per line (a header line and `#` comments allowed). */
  | { kind: 'csv'; csv: string }
  /** The same, from a file. */
  | { kind: 'csvFile'; path: string }
  /** The project's simulated massager (device/simulator), sampled at `rateHz` (default 250). */
  | { kind: 'scenario'; scenario: (typeof SCENARIOS)[number]; seed: number; rateHz?: number; band?: SimulatedBand; durationMs?: number };

const forceProfileSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('function'),
    forceN: z.custom<(elapsedMs: number) => number>((value) => typeof value === 'function', 'forceN must be a function'),
    durationMs: z.number().positive().optional(),
    sampleHz: z.number().positive().max(100_000).optional(),
  }),
  z.strictObject({ kind: z.literal('csv'), csv: z.string() }),
  z.strictObject({ kind: z.literal('csvFile'), path: z.string().min(1) }),
  z.strictObject({
    kind: z.literal('scenario'),
    scenario: z.enum(SCENARIOS),
    seed: z.number().int(),
    rateHz: z.number().positive().max(10_000).optional(),
    band: z.strictObject({ bandLowN: z.number(), bandHighN: z.number(), overLimitN: z.number() }).optional(),
    durationMs: z.number().positive().optional(),
  }),
]);

/** A running force profile. */
export interface ForceDrive {
  /** The emulated time at which the profile's t = 0 was placed. */
  readonly startUs: number;
  /** Settles once the profile's last point has been applied (finite profiles), or after stop(). */
  readonly done: Promise<void>;
  /** Stops feeding new points; the input keeps its last value. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------- conversions

const forceSchema = z.number().min(0);

/** FSR default curve (device/sensors.ts): raw = 1023 F/(F + 30 N), at A0 as raw * 5000/1023 mV. */
export function forceToMillivolts(forceN: number): number {
  const force = forceSchema.parse(forceN);
  const raw = (FSR_RAW_MAX * force) / (force + FSR_DEFAULT_HALF_SCALE_N);
  return Math.round((raw * AVCC_MILLIVOLTS) / FSR_RAW_MAX);
}

/** HX711 default scale (device/sensors.ts): 42 800 counts per newton, clamped to 24 bits. */
export function forceToHx711Raw(forceN: number): number {
  const force = forceSchema.parse(forceN);
  return Math.min(Math.round(force * HX711_DEFAULT_COUNTS_PER_N), HX711_RAW_MAX);
}

/** What simavr's ADC reads for an input: floor(mV * 1023 / AVCC) (the chip: 1024). */
export function millivoltsToAdc(millivolts: number): number {
  return Math.min(Math.floor((millivolts * 1023) / AVCC_MILLIVOLTS), 1023);
}

const csvRowSchema = z.tuple([z.number().min(0), z.number().min(0)]);

/** Parses a `t_ms,force_n` trace: rows in time order, a header and `#` comments allowed. */
export function parseForceCsv(csv: string): { tMs: number; forceN: number }[] {
  const rows: { tMs: number; forceN: number }[] = [];
  let first = true;
  for (const [index, rawLine] of csv.split(/\r?\n/).entries()) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const cells = line.split(',').map((cell) => (cell.trim() === '' ? Number.NaN : Number(cell)));
    const isHeader = first && Number.isNaN(cells[0]);
    first = false;
    if (isHeader) continue;
    const parsed = csvRowSchema.safeParse(cells);
    if (!parsed.success) throw new Error(`force CSV line ${index + 1}: expected "t_ms,force_n" with numbers >= 0, got "${line}"`);
    const [tMs, forceN] = parsed.data;
    const previous = rows.at(-1);
    if (previous && tMs < previous.tMs) throw new Error(`force CSV line ${index + 1}: time goes backwards (${tMs} ms after ${previous.tMs} ms)`);
    rows.push({ tMs, forceN });
  }
  if (rows.length === 0) throw new Error('force CSV: no rows');
  return rows;
}

// ---------------------------------------------------------------- building

/**
 * make's flag for a build on every core. Safe for the harness, Optiboot and the firmware:
 * their Makefiles name every dependency (a parallel build from clean makes the same files).
 */
export const MAKE_JOBS = `-j${availableParallelism()}`;

const REQUIRED_FILES: readonly [string, string][] = [
  ['/usr/include/simavr/sim_avr.h', 'libsimavr-dev'],
  ['/usr/include/simavr/parts/uart_pty.h', 'libsimavr-dev'],
  ['/usr/include/libelf.h', 'libelf-dev'],
  ['/usr/bin/make', 'make'],
  ['/usr/bin/cc', 'gcc'],
];

/** The Debian packages the harness needs that are not installed (empty when all are). */
export function missingEmulatorPackages(): string[] {
  const missing = REQUIRED_FILES.filter(([path]) => !existsSync(path)).map(([, pkg]) => pkg);
  return [...new Set(missing)];
}

const BUILD_OUTPUT_KEPT = 8000;

/** Runs a build to its end: its exit code and the end of its output (where a failed build says why). */
export function runBuild(command: string, args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-BUILD_OUTPUT_KEPT);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

let building: Promise<string> | null = null;

/** Builds the harness if it is missing or older than its source (make); resolves to its path. */
export function buildEmulator(): Promise<string> {
  building ??= (async () => {
    const missing = missingEmulatorPackages();
    if (missing.length > 0) {
      throw new Error(
        `the emulator needs Debian packages that are missing: ${missing.join(' ')}; install them with: ` +
          `sudo apt-get install --no-install-recommends ${missing.join(' ')}`,
      );
    }
    const { code, output } = await runBuild('make', ['-s', MAKE_JOBS, '-C', EMULATOR_DIR]);
    if (code !== 0) throw new Error(`building the emulator failed (make exited with ${code}):\n${output}`);
    return HARNESS_PATH;
  })();
  const attempt = building;
  attempt.catch(() => {
    if (building === attempt) building = null; // let a later call try again
  });
  return attempt;
}

// ---------------------------------------------------------------- the emulator

interface Pending {
  resolve: (event: EmulatorEvent) => void;
  reject: (error: Error) => void;
}

/** What a schedule drives: an ADC input (millivolts), the HX711 (raw counts) or the thumb button (1 held, 0 released). */
export type ScheduleTarget = `adc${0 | 1 | 2 | 3 | 4 | 5 | 6 | 7}` | 'hx711' | 'button';

const millivoltsSchema = z.number().min(0).max(AVCC_MILLIVOLTS);
const hx711RawSchema = z.number().int().min(HX711_RAW_MIN).max(HX711_RAW_MAX);
const buttonLevelSchema = z.union([z.literal(0), z.literal(1)]);
const channelSchema = z.number().int().min(0).max(7);
/** Points sent per `schedule` command. */
const SCHEDULE_CHUNK = 2000;

export class Emulator {
  /** The UART's pseudo-terminal: open it with `serialport` at the firmware's baud rate. */
  readonly ptyPath: string;
  /** The harness's process id. */
  readonly pid: number;
  readonly sensor: SensorKind;
  readonly realtime: boolean;
  /** Settles when the harness has exited, with its exit code or signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  readonly #child: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Set<(event: EmulatorEvent) => void>();
  readonly #drives = new Set<ForceDrive>();
  readonly #pinLevels = new Map<OutputPin, PinChange>();
  #uart: { baud: number; frameBits: number; emulatedUs: number } | null = null;
  #nextId = 1;
  #failure: Error | null = null;
  #stopping: Promise<void> | null = null;
  #stderrTail = '';

  private constructor(child: ChildProcess, ready: Extract<EmulatorEvent, { event: 'ready' }>, sensor: SensorKind, stderrTail: string) {
    this.#child = child;
    this.ptyPath = ready.pty;
    this.pid = ready.pid;
    this.sensor = sensor;
    this.realtime = ready.realtime;
    this.#stderrTail = stderrTail;
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
      else child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    void this.exited.then(({ code, signal }) => {
      if (this.#stopping === null) this.#fail(new Error(`the emulator exited unexpectedly (code ${code}, signal ${signal ?? 'none'})${this.#stderrSuffix()}`));
      else this.#fail(new Error('the emulator has stopped'));
    });
  }

  /** Builds the harness if needed, starts it on `hexPath` and resolves once its pty exists. */
  static async start(options: EmulatorOptions): Promise<Emulator> {
    const parsed = emulatorOptionsSchema.parse(options);
    if (parsed.hexPath === undefined && parsed.bootloaderPath === undefined) throw new Error('the emulator needs a firmware hex, a bootloader, or both');
    if (parsed.hexPath !== undefined && !existsSync(parsed.hexPath)) throw new Error(`no firmware hex at ${parsed.hexPath}`);
    if (parsed.bootloaderPath !== undefined && !existsSync(parsed.bootloaderPath)) throw new Error(`no bootloader hex at ${parsed.bootloaderPath}`);
    const harness = await buildEmulator();
    const sensor = parsed.sensor ?? 'fsr';
    const args: string[] = [];
    if (parsed.realtime === false) args.push('--fast');
    if (sensor === 'hx711') args.push('--hx711', '--hx711-rate', String(parsed.hx711RateHz ?? 80));
    if (sensor === 'hx711' && parsed.hx711DataEvents === true) args.push('--hx711-data-events');
    if (parsed.eepromPath !== undefined) args.push('--eeprom', parsed.eepromPath);
    if (parsed.uart !== undefined) args.push('--uart', parsed.uart);
    if (parsed.dropUnreadMs !== undefined) args.push('--drop-unread', String(parsed.dropUnreadMs));
    if (parsed.resetOnOpen === false) args.push('--no-reset-on-open');
    if (parsed.bootloaderPath !== undefined) args.push('--bootloader', parsed.bootloaderPath);
    if (parsed.hexPath !== undefined) args.push(parsed.hexPath);

    const child = spawn(harness, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderrTail = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString()).slice(-4000);
    });
    const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
    const early: string[] = [];
    // lines after `ready` wait here until the Emulator exists, then go to it
    const backlog: string[] = [];
    let emulator: Emulator | null = null;
    let isReady = false;

    const ready = await new Promise<Extract<EmulatorEvent, { event: 'ready' }>>((resolve, reject) => {
      const timeoutMs = parsed.startTimeoutMs ?? 30_000;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the emulator did not start within ${timeoutMs} ms${suffix(stderrTail)}`));
      }, timeoutMs);
      const fail = (error: Error): void => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(error);
      };
      child.once('error', (error) => fail(new Error(`cannot run ${harness}: ${error.message}`)));
      child.once('exit', (code, signal) => {
        const fatal = early.map((line) => emulatorEventSchema.safeParse(safeJson(line))).find((r) => r.success && r.data.event === 'fatal');
        const reason = fatal?.success === true && fatal.data.event === 'fatal' ? `: ${fatal.data.message}` : '';
        fail(new Error(`the emulator exited before it was ready (code ${code}, signal ${signal ?? 'none'})${reason}${suffix(stderrTail)}`));
      });
      lines.on('line', (line) => {
        if (emulator !== null) {
          emulator.#handleLine(line);
          return;
        }
        if (isReady) {
          backlog.push(line);
          return;
        }
        const parsedLine = emulatorEventSchema.safeParse(safeJson(line));
        if (parsedLine.success && parsedLine.data.event === 'ready') {
          isReady = true;
          clearTimeout(timer);
          child.removeAllListeners('exit');
          child.removeAllListeners('error');
          resolve(parsedLine.data);
        } else {
          early.push(line);
        }
      });
    });
    const created = new Emulator(child, ready, sensor, stderrTail);
    child.stderr.on('data', (chunk: Buffer) => {
      created.#stderrTail = (created.#stderrTail + chunk.toString()).slice(-4000);
    });
    child.on('error', (error) => created.#fail(error));
    child.stdin.on('error', (error) => created.#fail(error));
    for (const line of backlog) created.#handleLine(line);
    emulator = created;
    return created;
  }

  /** The UART link as the firmware last configured it (baud, bits per frame), or null before it does. */
  get uart(): { baud: number; frameBits: number; emulatedUs: number } | null {
    return this.#uart;
  }

  /** The last reported state of an output pin, or null while the firmware has not driven it. */
  pinLevel(pin: OutputPin): PinChange | null {
    return this.#pinLevels.get(pin) ?? null;
  }

  /** Listens to every event the harness reports; returns a function that unsubscribes. */
  onEvent(listener: (event: EmulatorEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Listens to changes of D13, D6 and D9; returns a function that unsubscribes. */
  onPinChange(listener: (change: PinChange) => void): () => void {
    return this.onEvent((event) => {
      if (event.event === 'pin') listener(pinChangeOf(event));
    });
  }

  /**
   * Resolves with the next event of this kind that satisfies `predicate` (if given), or
   * rejects after `timeoutMs` of wall time (default 5 s) or when the harness fails.
   */
  waitForEvent<K extends EmulatorEvent['event']>(
    kind: K,
    predicate: (event: Extract<EmulatorEvent, { event: K }>) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<Extract<EmulatorEvent, { event: K }>> {
    return new Promise((resolve, reject) => {
      if (this.#failure) {
        reject(this.#failure);
        return;
      }
      const timer = setTimeout(() => {
        unsubscribe();
        reject(new Error(`no matching "${kind}" event from the emulator within ${timeoutMs} ms`));
      }, timeoutMs);
      const unsubscribe = this.onEvent((event) => {
        if (event.event !== kind) return;
        const matching = event as Extract<EmulatorEvent, { event: K }>;
        if (!predicate(matching)) return;
        clearTimeout(timer);
        unsubscribe();
        resolve(matching);
      });
    });
  }

  /** The emulated time since power-on, in microseconds. */
  async emulatedTimeUs(): Promise<number> {
    return (await this.clocks()).emulatedUs;
  }

  /**
   * The harness's clocks read at one moment: emulated time since power-on, its host's
   * monotonic clock, and the emulated time it has given up so far when it fell too far
   * behind to catch up (`lag`), all in microseconds. Ratios of two readings leave out how
   * long the answer took to get here.
   */
  async clocks(): Promise<EmulatorClocks> {
    const reply = await this.#command({ cmd: 'time' });
    if (reply.event !== 'time') throw new Error(`the emulator answered "time" with "${reply.event}"`);
    return { emulatedUs: reply.emulatedUs, hostUs: reply.hostUs, lagLostUs: reply.lagLostUs };
  }

  /** Sets an ADC input (A0 unless `channel` says otherwise); resolves with the emulated time it took effect. */
  async setAnalogMillivolts(millivolts: number, channel = 0): Promise<number> {
    const mv = Math.round(millivoltsSchema.parse(millivolts));
    return this.#emulatedUsOf(await this.#command({ cmd: 'adc', channel: channelSchema.parse(channel), millivolts: mv }));
  }

  /** Sets the HX711's next conversions (channel A, gain 128); resolves with the emulated time it took effect. */
  async setHx711Raw(raw: number): Promise<number> {
    this.#requireHx711();
    return this.#emulatedUsOf(await this.#command({ cmd: 'hx711', raw: hx711RawSchema.parse(raw) }));
  }

  /**
   * Unplugs the HX711 (`false`: no more conversions, SCK leads nowhere, DOUT held high as by
   * a pull-up on D2, so the firmware sees a sensor that is never ready) or plugs it in again
   * (`true`: it powers on, with channel A at gain 128 and its first data after the settling
   * time of four conversion periods). Its input value is kept. Resolves with the emulated time.
   */
  async setHx711Connected(connected: boolean): Promise<number> {
    this.#requireHx711();
    return this.#emulatedUsOf(await this.#command({ cmd: 'hx711', connected: z.boolean().parse(connected) }));
  }

  /**
   * Holds the Knotmeter's thumb button (`true`: its pin low, as pressed to ground) or lets it
   * go (`false`: high, as the board's pull-up makes it); D2 in the fsr build, D4 in both.
   * The firmware reads it at boot (hold it, then reset, or open the port, which resets, to
   * boot with it held) and then polls it for presses (MARK lines). Lasts across resets.
   * Resolves with the emulated time. A bounced press: `pressButton`.
   */
  async setButton(held: boolean): Promise<number> {
    return this.#emulatedUsOf(await this.#command({ cmd: 'button', held: z.boolean().parse(held) }));
  }

  /**
   * Presses the thumb button the way a real contact does, exactly on the emulated clock:
   * from `atUs` (default: 50 ms from now; a time already past applies at once, so leave a
   * loaded host room) `bounces` short make-and-break pairs 1 ms apart,
   * then held for `holdMs`, then released with as many bounces. Resolves with the emulated
   * time of the first edge (the press as the person made it); the release ends at
   * `atUs + holdMs + 2 * bounces` ms.
   */
  async pressButton(options: { atUs?: number; bounces?: number; holdMs?: number } = {}): Promise<number> {
    const bounces = z.number().int().min(0).max(50).parse(options.bounces ?? 0);
    const holdMs = z.number().min(0).parse(options.holdMs ?? 100);
    const startUs = options.atUs ?? (await this.emulatedTimeUs()) + 50_000;
    const points: [number, number][] = [];
    let tUs = startUs;
    const edge = (level: 0 | 1, afterUs: number): void => {
      points.push([Math.round(tUs), level]);
      tUs += afterUs;
    };
    const bounceTrain = (first: 0 | 1, second: 0 | 1): void => {
      for (let bounce = 0; bounce < bounces; bounce++) {
        edge(first, 500);
        edge(second, 500);
      }
    };
    bounceTrain(1, 0);
    edge(1, holdMs * 1000);
    bounceTrain(0, 1);
    edge(0, 0);
    await this.schedule('button', points);
    return startUs;
  }

  /** Puts a force on the sensor through its default calibration curve; resolves with the emulated time. */
  async setForceNewtons(forceN: number): Promise<number> {
    return this.sensor === 'hx711' ? this.setHx711Raw(forceToHx711Raw(forceN)) : this.setAnalogMillivolts(forceToMillivolts(forceN));
  }

  /**
   * Queues input values at absolute emulated times (the harness applies each exactly then and
   * holds it until the next). `replace` drops what was queued before. Resolves with the
   * number of points still queued.
   */
  async schedule(target: ScheduleTarget, points: readonly (readonly [emulatedUs: number, value: number])[], options: { replace?: boolean } = {}): Promise<number> {
    if (target === 'hx711') this.#requireHx711();
    const valueOf = (value: number): number =>
      target === 'hx711' ? hx711RawSchema.parse(value) : target === 'button' ? buttonLevelSchema.parse(value) : Math.round(millivoltsSchema.parse(value));
    let queued = 0;
    let replace = options.replace ?? false;
    for (let start = 0; start === 0 || start < points.length; start += SCHEDULE_CHUNK) {
      const chunk = points.slice(start, start + SCHEDULE_CHUNK).map(([timeUs, value]) => [z.number().int().nonnegative().parse(timeUs), valueOf(value)]);
      const reply = await this.#command({ cmd: 'schedule', target, points: chunk, replace });
      queued = reply.event === 'ok' ? (reply.queued ?? 0) : 0;
      replace = false;
    }
    return queued;
  }

  /**
   * Replays a force profile on the sensor against the emulated clock: t = 0 is now. Finite
   * profiles (a CSV trace, or a `durationMs`) are queued whole, so their timing does not
   * depend on the host at all; endless ones are fed a little ahead of the emulated clock.
   * Starting a drive stops the one before.
   */
  async driveForce(profile: ForceProfile): Promise<ForceDrive> {
    const parsed = forceProfileSchema.parse(profile) as ForceProfile;
    for (const drive of this.#drives) await drive.stop();
    const target: ScheduleTarget = this.sensor === 'hx711' ? 'hx711' : 'adc0';
    const toValue = (forceN: number): number => (this.sensor === 'hx711' ? forceToHx711Raw(Math.max(forceN, 0)) : forceToMillivolts(Math.max(forceN, 0)));
    const next = await sampler(parsed);
    const finite = parsed.kind === 'csv' || parsed.kind === 'csvFile' || parsed.durationMs !== undefined;
    const startUs = await this.emulatedTimeUs();
    const state = { lastUs: startUs - 1, exhausted: false, stopped: false, wake: (): void => undefined };
    /** The scenario's thumb-button presses among the points taken, as button points (held, released). */
    let presses: [number, number][] = [];
    const take = (untilUs: number): (readonly [number, number])[] => {
      const points: (readonly [number, number])[] = [];
      while (state.lastUs < untilUs && !state.exhausted) {
        const sample = next();
        if (!sample) {
          state.exhausted = true;
          break;
        }
        state.lastUs = startUs + Math.round(sample.tMs * 1000);
        points.push([state.lastUs, toValue(sample.forceN)]);
        if (sample.press === true) presses.push([state.lastUs, 1], [state.lastUs + SCENARIO_PRESS_MS * 1000, 0]);
      }
      return points;
    };
    const schedulePresses = async (): Promise<void> => {
      const points = presses;
      presses = [];
      if (points.length > 0) await this.schedule('button', points);
    };

    const horizonUs = this.realtime ? 500_000 : 3_000_000;
    await this.schedule(target, take(finite ? Number.POSITIVE_INFINITY : startUs + horizonUs), { replace: true });
    await schedulePresses();

    const running = (): boolean => !state.stopped && this.#failure === null;
    const feeding = (async () => {
      while (running() && !state.exhausted) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 100);
          state.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        if (!running()) return;
        const points = take((await this.emulatedTimeUs()) + horizonUs);
        if (points.length > 0 && running()) await this.schedule(target, points);
        if (running()) await schedulePresses();
      }
      // a finite profile: wait until the emulated clock has passed its last point
      while (running() && (await this.emulatedTimeUs()) < state.lastUs) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const done = feeding.catch((error: unknown) => {
      if (!state.stopped && this.#stopping === null) throw error;
    });
    const drive: ForceDrive = {
      startUs,
      done,
      stop: async () => {
        state.stopped = true;
        state.wake();
        this.#drives.delete(drive);
        await done.catch(() => undefined);
      },
    };
    this.#drives.add(drive);
    void done.finally(() => this.#drives.delete(drive)).catch(() => undefined);
    return drive;
  }

  /** Resets the AVR (as the reset pin would); EEPROM and inputs stay. Resolves with the emulated time. */
  async reset(): Promise<number> {
    return this.#emulatedUsOf(await this.#command({ cmd: 'reset' }));
  }

  /** The next `pages` flash page writes (SPM, by a bootloader) each keep one byte wrong, as a worn flash cell would; resolves with the emulated time. */
  async injectFlashFault(pages = 1): Promise<number> {
    return this.#emulatedUsOf(await this.#command({ cmd: 'flashFault', pages: z.number().int().min(0).max(256).parse(pages) }));
  }

  /** Stops the harness (quit, then SIGTERM, then SIGKILL); resolves once its process is gone. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      for (const drive of this.#drives) await drive.stop();
      if (this.#child.exitCode === null && this.#child.signalCode === null) {
        const stdin = this.#child.stdin;
        if (stdin && !stdin.destroyed) {
          stdin.write(`${JSON.stringify({ cmd: 'quit', id: 0 })}\n`);
          stdin.end();
        }
        const escalate = [
          setTimeout(() => this.#child.kill('SIGTERM'), 3000),
          setTimeout(() => this.#child.kill('SIGKILL'), 6000),
        ];
        await this.exited;
        for (const timer of escalate) clearTimeout(timer);
      }
    })();
    return this.#stopping;
  }

  #requireHx711(): void {
    if (this.sensor !== 'hx711') throw new Error("this emulator has no HX711 (start it with sensor: 'hx711')");
  }

  #emulatedUsOf(event: EmulatorEvent): number {
    return 'emulatedUs' in event && typeof event.emulatedUs === 'number' ? event.emulatedUs : 0;
  }

  #command(command: Record<string, unknown>): Promise<Extract<EmulatorEvent, { event: 'ok' | 'time' }>> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, {
        resolve: (event) => {
          if (event.event === 'ok' || event.event === 'time') resolve(event);
          else reject(new Error(`emulator: ${event.event === 'error' ? event.message : event.event}`));
        },
        reject,
      });
      this.#child.stdin?.write(`${JSON.stringify({ ...command, id })}\n`);
    });
  }

  #handleLine(line: string): void {
    const parsed = emulatorEventSchema.safeParse(safeJson(line));
    if (!parsed.success) {
      this.#fail(new Error(`the emulator printed a line this wrapper does not understand: ${line.slice(0, 200)} (${parsed.error.message})`));
      this.#child.kill('SIGKILL');
      return;
    }
    const event = parsed.data;
    if (event.event === 'pin') this.#pinLevels.set(event.pin, pinChangeOf(event));
    if (event.event === 'uart') this.#uart = { baud: event.baud, frameBits: event.frameBits, emulatedUs: event.emulatedUs };
    if ((event.event === 'ok' || event.event === 'time' || event.event === 'error') && typeof event.id === 'number') {
      const pending = this.#pending.get(event.id);
      if (pending) {
        this.#pending.delete(event.id);
        pending.resolve(event);
      }
    }
    for (const listener of this.#listeners) listener(event);
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const pending of this.#pending.values()) pending.reject(this.#failure);
    this.#pending.clear();
  }

  #stderrSuffix(): string {
    return suffix(this.#stderrTail);
  }
}

/** `press`: the simulated person presses the thumb button at this sample (a scenario's mark). */
type Sample = { tMs: number; forceN: number; press?: boolean } | null;
/** How long a scenario's thumb-button press is held. */
const SCENARIO_PRESS_MS = 150;

/** The profile as a stream of samples (time since the start, force), null at its end. */
async function sampler(profile: ForceProfile): Promise<() => Sample> {
  if (profile.kind === 'csv' || profile.kind === 'csvFile') {
    const rows = parseForceCsv(profile.kind === 'csv' ? profile.csv : await readFile(profile.path, 'utf8'));
    let index = 0;
    return () => rows[index++] ?? null;
  }
  const { durationMs } = profile;
  let step = 0;
  if (profile.kind === 'function') {
    const periodMs = 1000 / (profile.sampleHz ?? 1000);
    return () => {
      const tMs = step++ * periodMs;
      return durationMs !== undefined && tMs > durationMs ? null : { tMs, forceN: profile.forceN(tMs) };
    };
  }
  const rateHz = profile.rateHz ?? 250;
  const model = new ForceModel({ scenario: profile.scenario, seed: profile.seed, rateHz, band: profile.band ?? SHOULDERS_BAND });
  return () => {
    const tMs = (step++ * 1000) / rateHz;
    return durationMs !== undefined && tMs > durationMs ? null : { tMs, forceN: model.next(), press: model.takeMark() };
  };
}

function suffix(stderr: string): string {
  const text = stderr.trim();
  return text === '' ? '' : `\n--- emulator stderr ---\n${text}`;
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return line;
  }
}
