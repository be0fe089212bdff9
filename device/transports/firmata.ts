/**
 * The Firmata transport: an Arduino running StandardFirmata (no firmware of ours), read
 * and driven from the host through johnny-five on the real serialport. The first stage
 * of the pipeline for the many users whose Uno has StandardFirmata flashed already:
 *
 *   firmata                          auto-detect: the first port where a Firmata board answers
 *   firmata:/dev/ttyACM0             this port
 *   firmata:PATH?rate=200&baud=57600&feedback=7&timeout=10000
 *   firmata:emulator?scenario=over-pressure&seed=1
 *                                    the real StandardFirmata hex (from avrgirl-arduino) in
 *                                    the simavr emulator, its A0 driven by the simulated hand
 *
 * Samples carry the host's clock (Firmata has none), the host computes the device's alarm
 * and LED (device/firmata/local-alarm.ts), the id is `--device-id` or a hash of the port.
 * The thumb button (D2 to ground, the pin's pull-up) is read on the board and debounced
 * here (device/firmata/thumb-button.ts): each press is a mark on the samples' clock.
 * Why, and how it recovers: docs/design/firmata.md.
 */
import { createRequire } from 'node:module';
import { exactCalibration, type ForceCalibration } from '../sensors.ts';
import { DEVICE_ID_PATTERN } from '../device-id.ts';
import { DeviceSpecError, numberOption, rejectUnknownOptions, type DeviceSpec } from '../device-spec.ts';
import { Emulator, type ForceDrive } from '../emulator/emulator.ts';
import { FIRMATA_DEFAULT_BAUD_RATE, FirmataBoardLink, type FirmataBoardInfo } from '../firmata/board-link.ts';
import { LocalAlarm } from '../firmata/local-alarm.ts';
import { ThumbButtonDebouncer } from '../firmata/thumb-button.ts';
import { DEFAULT_FIRMATA_PROBE_TIMEOUT_MS, probeFirmata, type FirmataProbeResult } from '../firmata/probe.ts';
import { claimNamedPort, type PortClaim } from '../lifecycle/port-claims.ts';
import { PortFinder, type ProbeAnswer } from '../lifecycle/port-finder.ts';
import { RECONNECT_MAX_DELAY_MS, ReconnectLoop } from '../lifecycle/reconnect-loop.ts';
import { FEEDBACK_ALL } from '../protocol/host-commands.ts';
import type { ListedPort } from '../protocol/port-discovery.ts';
import { SCENARIOS, type ScenarioName } from '../simulator/scenarios.ts';
import { LIVE_DEVICE, type DeviceFeedback, type DeviceZone, type RawSample, type Transport, type TransportContext, type TransportListener, type TransportStatus } from '../transport.ts';

/** The emulated board: `firmata:emulator`. */
export const FIRMATA_EMULATOR_TARGET = 'emulator';
const DEFAULT_RATE_HZ = 100;
/** Firmata's sampling interval is a whole number of milliseconds, at least 1. */
const MAX_RATE_HZ = 1000;
const MIN_RATE_HZ = 1;
/** Long enough for an Uno: reset on open, bootloader, StandardFirmata's version blink, the capability query. */
const DEFAULT_READY_TIMEOUT_MS = 10_000;
/** The emulated board restarts a whole emulator: not more often than this. */
const EMULATOR_RECONNECT_MAX_DELAY_MS = 5000;
/** A board that sent nothing for this many sampling periods (at least STALL_MIN_MS) is taken as gone. */
const STALL_PERIODS = 20;
const STALL_MIN_MS = 3000;
/** After this long attached, a board that sends under RATE_SHORTFALL of the asked rate is told about. */
const RATE_CHECK_AFTER_MS = 3000;
const RATE_SHORTFALL = 0.8;
const FSR_RAW_MAX = 1023;
const AUTO_DETECT_LABEL = 'firmata (auto-detect)';

export type FirmataTarget =
  | { readonly kind: 'path'; readonly path: string }
  | { readonly kind: 'auto' }
  | { readonly kind: 'emulator'; readonly scenario: ScenarioName; readonly seed: number };

export interface FirmataTransportOptions {
  readonly target: FirmataTarget;
  readonly baudRate: number;
  /** Firmata's sampling interval, whole ms (the rate is 1000 / it). */
  readonly samplingIntervalMs: number;
  /** Which outputs the local alarm drives: 1 LED, 2 motor, 4 buzzer (default 7). */
  readonly feedbackMask: number;
  /** How long a board has to complete Firmata's handshake once its port is open. */
  readonly readyTimeoutMs: number;
  /** `--device-id`, or null: the id then comes from the port. */
  readonly deviceId: string | null;
  /** Position among the `--device` flags: names the emulated board's port. */
  readonly instance: number;
  /** Auto-detect: names scanned besides SerialPort.list() (default DEFAULT_SCAN_PATTERNS). */
  readonly scanPatterns?: readonly string[];
  /** Auto-detect: the port lister (default SerialPort.list). */
  readonly listPorts?: () => Promise<readonly ListedPort[]>;
  /** Auto-detect: how long a probed port has to answer REPORT_VERSION. */
  readonly probeTimeoutMs?: number;
  /** Longest wait between two reconnect attempts. */
  readonly reconnectMaxDelayMs?: number;
}

/** Validates a `firmata[:PATH|:emulator][?...]` spec; throws DeviceSpecError naming what is wrong. */
export function parseFirmataSpec(spec: DeviceSpec, context: TransportContext): FirmataTransportOptions {
  const emulated = spec.target === FIRMATA_EMULATOR_TARGET;
  rejectUnknownOptions(spec, ['baud', 'rate', 'feedback', 'timeout', ...(emulated ? ['scenario', 'seed'] : [])]);
  const whole = (name: string, min: number, max: number, fallback: number): number => {
    const value = numberOption(spec, name, min, max, fallback);
    if (!Number.isInteger(value)) throw new DeviceSpecError(`device spec "${spec.text}": ${name}=${value} is not a whole number`);
    return value;
  };
  const baudRate = whole('baud', 300, 4_000_000, FIRMATA_DEFAULT_BAUD_RATE);
  const rateHz = numberOption(spec, 'rate', MIN_RATE_HZ, MAX_RATE_HZ, DEFAULT_RATE_HZ);
  const feedbackMask = whole('feedback', 0, FEEDBACK_ALL, FEEDBACK_ALL);
  const readyTimeoutMs = whole('timeout', 500, 120_000, DEFAULT_READY_TIMEOUT_MS);
  const deviceId = context.deviceId ?? null;
  if (deviceId !== null && !DEVICE_ID_PATTERN.test(deviceId)) {
    throw new DeviceSpecError(`--device-id ${deviceId} for "${spec.text}" is not a device id: use 8 lowercase hex digits, e.g. 1a2b3c4d`);
  }
  let target: FirmataTarget;
  if (emulated) {
    const scenario = spec.options.get('scenario') ?? 'treatment';
    if (!(SCENARIOS as readonly string[]).includes(scenario)) {
      throw new DeviceSpecError(`device spec "${spec.text}": unknown scenario "${scenario}" (known: ${SCENARIOS.join(', ')})`);
    }
    const seed = Math.trunc(numberOption(spec, 'seed', 0, 0xffff_ffff, (context.seed ?? Math.floor(Math.random() * 0xffff_0000)) + context.instance));
    target = { kind: 'emulator', scenario: scenario as ScenarioName, seed };
  } else {
    target = spec.target === null ? { kind: 'auto' } : { kind: 'path', path: spec.target };
  }
  return {
    target,
    baudRate,
    samplingIntervalMs: Math.max(1, Math.round(1000 / rateHz)),
    feedbackMask,
    readyTimeoutMs,
    deviceId,
    instance: context.instance,
  };
}

/** 8 lowercase hex digits for a board with no id of its own (FNV-1a of its port), never 00000000 or ffffffff. */
export function portDeviceId(port: string): string {
  let hash = 0x811c9dc5;
  for (const char of port) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  if (hash === 0 || hash === 0xffff_ffff) hash = 1;
  return hash.toString(16).padStart(8, '0');
}

/** The StandardFirmata build for the Uno that avrgirl-arduino 5.0.1 ships; a message saying what to do when it is missing. */
export function standardFirmataHexPath(): string {
  const hexName = 'avrgirl-arduino/junk/hex/uno/StandardFirmata.cpp.hex';
  try {
    return createRequire(import.meta.url).resolve(hexName);
  } catch {
    throw new Error(`the StandardFirmata hex (${hexName}) is missing: run \`npm install\` (it comes with the avrgirl-arduino package)`);
  }
}

/** What auto-detect finds: a port where a Firmata board answered, still open for the handshake. */
interface FoundBoard {
  readonly path: string;
  readonly port: NonNullable<FirmataProbeResult['port']>;
}

interface Arrival {
  readonly raw: number;
  readonly hostUs: number;
}

export class FirmataTransport implements Transport {
  readonly spec: string;
  readonly capabilities = LIVE_DEVICE;
  readonly feedback: DeviceFeedback;
  /** The emulated board's exact curve (the harness drives A0 through it), or null for a real board. */
  readonly calibration: ForceCalibration | null;
  readonly #options: FirmataTransportOptions;
  readonly #originMs = performance.now();
  readonly #alarm = new LocalAlarm();
  readonly #button = new ThumbButtonDebouncer({ nowUs: () => this.#nowUs(), onPress: (atUs) => this.#onPress(atUs) });
  /** Presses of the thumb button so far: the next mark's `seq`. */
  #presses = 0;
  #listener: TransportListener | null = null;
  #stopping = false;
  #state: TransportStatus['state'] = 'stopped';
  #lastError: string | null = null;
  #link: FirmataBoardLink | null = null;
  /** A port found by auto-detect or the emulated board's, held while the link is open (lifecycle/port-claims.ts). */
  #claim: PortClaim | null = null;
  /** A port named in the spec, held from the first attempt until the transport stops: nobody here probes it meanwhile. */
  #namedClaim: PortClaim | null = null;
  #board: FirmataBoardInfo | null = null;
  /** The port found by auto-detect (its id comes from it), or null. */
  #foundPath: string | null = null;
  #samples = 0;
  #lastStampUs = -1;
  #arrivals: Arrival[] = [];
  #flushScheduled = false;
  #lastSampleMs = 0;
  /** Since the last attach: when it happened, samples since, and whether the rate was checked. */
  #attachRate = { sinceMs: 0, samples: 0, checked: false };
  readonly #reconnect: ReconnectLoop;
  #blinkTimer: NodeJS.Timeout | null = null;
  #stallTimer: NodeJS.Timeout | null = null;
  #emulator: Emulator | null = null;
  #drive: ForceDrive | null = null;
  /** Auto-detect: the shared policy, asking each port REPORT_VERSION. */
  readonly #finder: PortFinder<FoundBoard> | null;

  constructor(options: FirmataTransportOptions) {
    this.#options = options;
    this.#alarm.setFeedbackMask(options.feedbackMask);
    const target = options.target;
    const head = target.kind === 'path' ? `firmata:${target.path}` : target.kind === 'emulator' ? `firmata:${FIRMATA_EMULATOR_TARGET}` : 'firmata';
    const query = [
      `baud=${options.baudRate}`,
      `rate=${this.nominalRateHz}`,
      `feedback=${options.feedbackMask}`,
      ...(target.kind === 'emulator' ? [`scenario=${target.scenario}`, `seed=${target.seed}`] : []),
    ];
    this.spec = `${head}?${query.join('&')}`;
    this.calibration = target.kind === 'emulator' ? exactCalibration('fsr') : null;
    this.feedback = {
      setOverLimit: (onRaw, offRaw) => this.#setOverLimit(onRaw, offRaw),
      setZone: (zone) => this.#setZone(zone),
    };
    const defaultMaxDelayMs =
      target.kind === 'auto' ? RECONNECT_MAX_DELAY_MS.autoDetect : target.kind === 'emulator' ? EMULATOR_RECONNECT_MAX_DELAY_MS : RECONNECT_MAX_DELAY_MS.path;
    this.#reconnect = new ReconnectLoop({ maxDelayMs: options.reconnectMaxDelayMs ?? defaultMaxDelayMs, attempt: () => this.#connectOnce() });
    this.#finder = target.kind === 'auto' ? this.#firmataFinder() : null;
  }

  /** Samples per second the board is asked for: 1000 / the sampling interval. */
  get nominalRateHz(): number {
    return 1000 / this.#options.samplingIntervalMs;
  }

  /** The emulated board (`firmata:emulator`) once started: its pins, its sensor, its clock. */
  get emulator(): Emulator | null {
    return this.#emulator;
  }

  /** The port in use, or null while no board is attached. */
  get path(): string | null {
    return this.#link?.path ?? null;
  }

  /** Whether the local over-pressure alarm is on (it drives the outputs of the feedback mask). */
  get alarmOn(): boolean {
    return this.#alarm.alarmOn;
  }

  status(): TransportStatus {
    const board = this.#board;
    return {
      state: this.#state,
      deviceId: this.#deviceId(),
      deviceIdSource: this.#options.deviceId !== null ? 'flag' : 'port',
      sensor: 'fsr',
      clock: 'host',
      firmware: board === null ? '' : `${board.firmwareName} ${board.firmwareVersion} (Firmata ${board.protocolVersion})`,
      nominalRateHz: this.nominalRateHz,
      samples: this.#samples,
      lostSamples: 0,
      droppedLines: {},
      lastError: this.#lastError,
    };
  }

  async start(listener: TransportListener): Promise<void> {
    if (this.#listener !== null) throw new Error(`${this.spec} is already started`);
    this.#listener = listener;
    this.#stopping = false;
    this.#setState('connecting');
    this.#stallTimer = setInterval(() => this.#checkStall(), 250);
    await this.#reconnect.start();
  }

  async stop(): Promise<void> {
    if (this.#listener === null) return;
    this.#stopping = true;
    this.#reconnect.stop();
    if (this.#blinkTimer !== null) clearTimeout(this.#blinkTimer);
    if (this.#stallTimer !== null) clearInterval(this.#stallTimer);
    this.#blinkTimer = this.#stallTimer = null;
    this.#button.reset();
    this.#flush();
    const link = this.#link;
    const claim = this.#detach();
    await link?.close();
    claim?.release();
    this.#namedClaim?.release();
    this.#namedClaim = null;
    await this.#drive?.stop();
    await this.#emulator?.stop();
    this.#drive = null;
    this.#emulator = null;
    this.#setState('stopped');
    this.#listener = null;
  }

  /** Which outputs the local alarm drives (1 LED, 2 motor, 4 buzzer); applies at once. */
  setFeedbackMask(mask: number): void {
    if (!Number.isInteger(mask) || mask < 0 || mask > FEEDBACK_ALL) throw new RangeError(`feedback mask ${mask}: must be a whole number from 0 to ${FEEDBACK_ALL}`);
    this.#alarm.setFeedbackMask(mask);
    this.#applyOutputs();
  }

  // ---------------------------------------------------------------- feedback

  #setOverLimit(onRaw: number, offRaw: number): Promise<void> {
    const off = onRaw === 0 && offRaw === 0;
    if (!Number.isInteger(onRaw) || !Number.isInteger(offRaw) || (!off && !(offRaw >= 0 && offRaw < onRaw && onRaw <= FSR_RAW_MAX))) {
      return Promise.reject(
        new RangeError(
          `over-pressure limit on=${onRaw} off=${offRaw} raw: needs whole numbers with 0 <= off < on <= ${FSR_RAW_MAX} (A0), ` +
            'or 0, 0 to turn the alarm off (convert newtons with calibration.toRaw)',
        ),
      );
    }
    this.#alarm.setLimit(onRaw, offRaw);
    this.#applyOutputs();
    return this.#appliedOrDetached('LIMIT');
  }

  #setZone(zone: DeviceZone): Promise<void> {
    if (![0, 1, 2, 3].includes(zone)) return Promise.reject(new RangeError(`zone ${String(zone)}: must be 0 (below), 1 (band), 2 (above) or 3 (over)`));
    this.#alarm.setZone(zone, this.#nowUs());
    this.#applyOutputs();
    this.#scheduleBlink();
    return this.#appliedOrDetached('ZONE');
  }

  /** The host holds the value either way; the promise says whether a board shows it now. */
  #appliedOrDetached(what: string): Promise<void> {
    if (this.#link !== null) return Promise.resolve();
    return Promise.reject(new Error(`${what} kept for ${this.#describe()}: no board is attached; it applies as soon as one is`));
  }

  #applyOutputs(): void {
    this.#link?.writeOutputs(this.#alarm.outputs());
  }

  #scheduleBlink(): void {
    if (this.#blinkTimer !== null) clearTimeout(this.#blinkTimer);
    this.#blinkTimer = null;
    const nextUs = this.#alarm.nextBlinkUs;
    if (nextUs === null || this.#listener === null) return;
    this.#blinkTimer = setTimeout(
      () => {
        this.#blinkTimer = null;
        this.#alarm.tick(this.#nowUs());
        this.#applyOutputs();
        this.#scheduleBlink();
      },
      Math.max(0, (nextUs - this.#nowUs()) / 1000),
    );
  }

  // ---------------------------------------------------------------- attaching

  async #connectOnce(): Promise<boolean> {
    let claim: PortClaim | null = null;
    try {
      const port = await this.#portToOpen();
      claim = port.claim;
      const { path, open } = port;
      if (this.#isStopping()) {
        if (open?.isOpen === true) await new Promise<void>((resolve) => open.close(() => resolve()));
        claim?.release();
        return false;
      }
      const link = await FirmataBoardLink.open(
        {
          path,
          baudRate: this.#options.baudRate,
          samplingIntervalMs: this.#options.samplingIntervalMs,
          readyTimeoutMs: this.#options.readyTimeoutMs,
          ...(open === undefined ? {} : { port: open }),
        },
        {
          onAnalog: (raw) => this.#onAnalog(raw),
          onReboot: () => this.#onReboot(),
          onLost: (reason) => this.#onLinkLost(reason),
          onButton: (down) => this.#button.report(down),
        },
      );
      if (this.#isStopping()) {
        await link.close();
        claim?.release();
        return false;
      }
      this.#link = link;
      this.#claim = claim;
      this.#board = link.info;
      // Its first report of D2 is the state at attach (another board may be on the port now).
      this.#button.reset();
      this.#lastSampleMs = performance.now();
      this.#attachRate = { sinceMs: performance.now(), samples: 0, checked: false };
      link.writeOutputs(this.#alarm.outputs());
      this.#setState('connected');
      await this.#startDrive();
      return true;
    } catch (error) {
      claim?.release();
      if (this.#isStopping()) return false;
      this.#lastError = error instanceof Error ? error.message : String(error);
      this.#setState('disconnected');
      return false;
    }
  }

  /** The port to open, claimed: the given path, the emulated board's pty (starting it if needed), or a port where a Firmata answers. */
  async #portToOpen(): Promise<{ path: string; claim: PortClaim | null; open?: FoundBoard['port'] }> {
    const target = this.#options.target;
    if (target.kind === 'path') {
      this.#namedClaim ??= claimNamedPort(target.path, this.spec);
      return { path: target.path, claim: null };
    }
    if (this.#finder !== null) {
      const { found, claim } = await this.#finder.find();
      this.#foundPath = found.path;
      return { path: found.path, claim, open: found.port };
    }
    if (this.#emulator === null) {
      const emulator = await Emulator.start({ hexPath: standardFirmataHexPath(), sensor: 'fsr' });
      if (this.#isStopping()) {
        await emulator.stop();
        throw new Error('stopped');
      }
      this.#emulator = emulator;
      void emulator.exited.then(({ code, signal }) => {
        if (this.#emulator !== emulator || this.#stopping) return;
        // The pty closes with it: the link's loss starts the reconnect, which starts a new one.
        this.#emulator = null;
        this.#drive = null;
        this.#lastError = `the emulated board stopped (code ${code}, signal ${signal ?? 'none'}); starting it again`;
        this.#emitStatus();
      });
    }
    return { path: this.#emulator.ptyPath, claim: claimNamedPort(this.#emulator.ptyPath, this.spec) };
  }

  /** The emulated board's simulated hand, once its board is ready (it carries on across reconnects). */
  async #startDrive(): Promise<void> {
    const target = this.#options.target;
    if (target.kind !== 'emulator' || this.#emulator === null || this.#drive !== null) return;
    try {
      this.#drive = await this.#emulator.driveForce({ kind: 'scenario', scenario: target.scenario, seed: target.seed });
    } catch (error) {
      this.#lastError = `the emulated board's force profile did not start: ${error instanceof Error ? error.message : String(error)}`;
      this.#emitStatus();
    }
  }

  /** Auto-detect: a port nobody here holds where a Firmata board answers REPORT_VERSION, kept open for the handshake. */
  #firmataFinder(): PortFinder<FoundBoard> {
    const options = this.#options;
    return new PortFinder<FoundBoard>({
      holder: this.spec,
      ...(options.scanPatterns === undefined ? {} : { patterns: options.scanPatterns }),
      ...(options.listPorts === undefined ? {} : { listPorts: options.listPorts }),
      probe: async (port): Promise<ProbeAnswer<FoundBoard>> => {
        const timeoutMs = options.probeTimeoutMs ?? DEFAULT_FIRMATA_PROBE_TIMEOUT_MS;
        const probe = await probeFirmata(port.path, { baudRate: options.baudRate, timeoutMs, keepOpen: true });
        if (probe.error !== null) return { kind: 'failed', note: probe.error };
        if (probe.port === null) return { kind: 'silent', note: 'no Firmata answer' };
        return { kind: 'found', found: { path: port.path, port: probe.port } };
      },
      discard: (found) => new Promise((resolve) => (found.port.isOpen ? found.port.close(() => resolve()) : resolve())),
      whenNoPort: () => 'plug the Firmata board in, or name its port: --device firmata:/dev/ttyACM0',
      noAnswer: (answers) => `no Firmata board answered at ${options.baudRate} baud (${answers}); check that StandardFirmata is flashed on the board`,
    });
  }

  #onLinkLost(reason: string): void {
    if (this.#stopping) return;
    this.#flush();
    // The link closed itself (or is closing, after a stall): its port is free.
    this.#detach()?.release();
    this.#lastError = `${reason}; reconnecting`;
    this.#setState('disconnected');
    this.#reconnect.lost();
  }

  /** Forgets the link; returns its port's claim, to release once the link is closed. */
  #detach(): PortClaim | null {
    const claim = this.#claim;
    this.#claim = null;
    this.#link = null;
    return claim;
  }

  /** The board restarted (reset button, brown-out, a port reopened elsewhere): pins and reporting again. */
  #onReboot(): void {
    this.#lastError = `${this.#describe()} restarted (it announced its Firmata version unasked); pins and A0's reports set up again`;
    this.#button.reset();
    this.#link?.configure(this.#options.samplingIntervalMs);
    this.#emitStatus();
  }

  /** A board that sends nothing is as good as gone (a hung sketch, a half-broken cable): close and reopen. */
  #checkStall(): void {
    const link = this.#link;
    if (link === null || this.#state !== 'connected') return;
    this.#checkRate(link.path);
    const stallMs = Math.max(STALL_MIN_MS, STALL_PERIODS * this.#options.samplingIntervalMs);
    const silentMs = performance.now() - this.#lastSampleMs;
    if (silentMs < stallMs) return;
    void link.close();
    this.#onLinkLost(`no A0 report from ${link.path} for ${Math.round(silentMs)} ms (the board stopped answering)`);
  }

  /**
   * Firmata accepts any sampling interval and says nothing when its sketch clamps it:
   * StandardFirmata 2.4 (the one avrgirl-arduino ships, and many flashed boards) never
   * samples faster than every 10 ms. Once per attach, a board well under the rate asked
   * for is told about, with what to do.
   */
  #checkRate(path: string): void {
    const check = this.#attachRate;
    const elapsedMs = performance.now() - check.sinceMs;
    if (check.checked || elapsedMs < RATE_CHECK_AFTER_MS) return;
    check.checked = true;
    const receivedHz = (check.samples * 1000) / elapsedMs;
    if (receivedHz >= RATE_SHORTFALL * this.nominalRateHz) return;
    this.#lastError =
      `the Firmata board on ${path} sends A0 about ${Math.round(receivedHz)} times a second where ${Math.round(this.nominalRateHz)} were asked: ` +
      'its sketch has a longer minimum sampling interval (StandardFirmata 2.4: 10 ms, so 100 Hz at most); ask for rate=100 or less, ' +
      'or flash a Firmata built with a shorter MINIMUM_SAMPLING_INTERVAL';
    this.#emitStatus();
  }

  // ---------------------------------------------------------------- samples

  #onAnalog(raw: number): void {
    const hostUs = this.#nowUs();
    this.#lastSampleMs = performance.now();
    this.#attachRate.samples++;
    // The local alarm reacts to this very sample, before it waits for the batch.
    if (this.#alarm.onSample(raw)) this.#applyOutputs();
    this.#arrivals.push({ raw, hostUs });
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // Reports that arrived in one chunk go downstream as one batch.
      queueMicrotask(() => this.#flush());
    }
  }

  /** A debounced press of the thumb button: after the samples so far, a mark on their clock. */
  #onPress(atUs: number): void {
    this.#flush();
    const listener = this.#listener;
    if (listener === null || this.#link === null) return;
    listener.onMark?.({ deviceId: this.#deviceId(), seq: this.#presses++, deviceTimeUs: atUs, lostBefore: 0 });
  }

  /**
   * Host-clock stamps: reports read in one chunk were taken a period apart before the
   * last of them arrived, so they are spaced back from its arrival; stamps only increase.
   */
  #flush(): void {
    this.#flushScheduled = false;
    const arrivals = this.#arrivals;
    if (arrivals.length === 0) return;
    this.#arrivals = [];
    const periodUs = this.#options.samplingIntervalMs * 1000;
    const lastArrivalUs = arrivals.at(-1)?.hostUs ?? 0;
    const deviceId = this.#deviceId();
    const batch: RawSample[] = arrivals.map(({ raw }, index) => {
      const idealUs = Math.round(lastArrivalUs - (arrivals.length - 1 - index) * periodUs);
      this.#lastStampUs = Math.max(idealUs, this.#lastStampUs + 1);
      return { deviceId, seq: this.#samples++, deviceTimeUs: this.#lastStampUs, raw };
    });
    this.#listener?.onSamples(batch);
  }

  // ---------------------------------------------------------------- status

  /** A method, not the field: TypeScript would keep a check of the field narrowed across an await. */
  #isStopping(): boolean {
    return this.#stopping;
  }

  #nowUs(): number {
    return Math.round((performance.now() - this.#originMs) * 1000);
  }

  #deviceId(): string {
    if (this.#options.deviceId !== null) return this.#options.deviceId;
    const target = this.#options.target;
    if (target.kind === 'path') return portDeviceId(target.path);
    if (target.kind === 'emulator') return portDeviceId(`${FIRMATA_EMULATOR_TARGET}#${this.#options.instance}`);
    return this.#foundPath === null ? AUTO_DETECT_LABEL : portDeviceId(this.#foundPath);
  }

  #describe(): string {
    const path = this.#link?.path ?? (this.#options.target.kind === 'path' ? this.#options.target.path : null);
    return `the Firmata board${path === null ? '' : ` on ${path}`}`;
  }

  #setState(state: TransportStatus['state']): void {
    this.#state = state;
    this.#emitStatus();
  }

  #emitStatus(): void {
    this.#listener?.onStatus(this.status());
  }
}

