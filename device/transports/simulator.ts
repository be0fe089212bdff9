/**
 * The simulated massager: a transport with no hardware, for `npm start` on a machine with
 * nothing but Node, for demos and for tests. It samples the force model on an exact
 * device clock (sample n at n / rate seconds), converts force to raw counts through the
 * sensor's default curve (so the rest of the pipeline sees what a real FSR would send),
 * and delivers samples paced to the wall clock (or faster, with `speed`).
 *
 *   sim[:SCENARIO][?rate=HZ&seed=N&loss=P&speed=X|max&sensor=fsr|hx711&gain=G]
 *   sim:weights?loads=4.9,9.8,19.6&holdS=6      a calibration bench: known loads in turn
 *   sim:ppt                                      algometer trials: steady ramps, the thumb button at pain
 *
 * The simulated thumb button: pressed by the `ppt` scenario at each trial's threshold, and
 * on demand (`pressButton()`); each press is a mark (TransportListener.onMark).
 *
 * `gain` makes the part differ from the documented curve as real parts do (an FSR spreads
 * 10-25 %): raw counts are those of the default curve at gain x the force. Such a device
 * is not vouched for: it runs uncalibrated until it has a calibration profile, which
 * `sim:weights` lets one make (npm run calibrate, or the dashboard's calibration page).
 */
import { exactCalibration, type ForceCalibration } from '../sensors.ts';
import { DeviceSpecError, numberOption, rejectUnknownOptions, type DeviceSpec } from '../device-spec.ts';
import { ForceModel } from '../simulator/force-model.ts';
import { SeededRandom } from '../simulator/random.ts';
import { DEFAULT_BENCH, SCENARIOS, SHOULDERS_BAND, type CalibrationBench, type ScenarioName } from '../simulator/scenarios.ts';
import { LIVE_DEVICE, type DeviceMark, type RawSample, type SensorKind, type Transport, type TransportContext, type TransportListener, type TransportStatus } from '../transport.ts';

export const SIMULATOR_FIRMWARE = 'knotmeter-sim 1';
const TICK_MS = 10;
/** In `speed=max` mode, samples generated per turn of the event loop. */
const UNPACED_CHUNK = 2000;
/** Loss comes in bursts, as on a real link: mean burst length in samples. */
const MEAN_LOSS_BURST = 5;

export interface SimulatorOptions {
  readonly scenario: ScenarioName;
  readonly sensor: SensorKind;
  readonly rateHz: number;
  readonly seed: number;
  /** Probability that a given sample is lost on the way (0 = none). */
  readonly lossRate: number;
  /** Wall-clock pacing: 1 = real time, 10 = ten times faster, null = as fast as possible. */
  readonly speed: number | null;
  readonly deviceId: string;
  /** The `weights` scenario's loads and rest time. */
  readonly bench: CalibrationBench;
  /** The part's sensitivity against the documented curve, or null: exactly the documented curve. */
  readonly gain: number | null;
}

export function parseSimulatorSpec(spec: DeviceSpec, context: TransportContext): SimulatorOptions {
  rejectUnknownOptions(spec, ['rate', 'seed', 'loss', 'speed', 'sensor', 'gain', 'loads', 'holdS']);
  const scenario = spec.target ?? 'treatment';
  if (!isScenario(scenario)) {
    throw new DeviceSpecError(`device spec "${spec.text}": unknown scenario "${scenario}" (known: ${SCENARIOS.join(', ')})`);
  }
  const sensorText = spec.options.get('sensor') ?? 'fsr';
  if (sensorText !== 'fsr' && sensorText !== 'hx711') {
    throw new DeviceSpecError(`device spec "${spec.text}": sensor=${sensorText} is not fsr or hx711`);
  }
  const maxRateHz = sensorText === 'hx711' ? 80 : 1000;
  const rateHz = numberOption(spec, 'rate', 10, maxRateHz, Math.min(100, maxRateHz));
  const seed = Math.trunc(numberOption(spec, 'seed', 0, 0xffff_ffff, (context.seed ?? randomSeed()) + context.instance));
  const lossRate = numberOption(spec, 'loss', 0, 0.5, 0);
  const speed = spec.options.get('speed') === 'max' ? null : numberOption(spec, 'speed', 0.1, 1000, 1);
  const deviceId = simulatedDeviceId(`${scenario}/${seed}/${context.instance}`);
  const gain = spec.options.has('gain') ? numberOption(spec, 'gain', 0.5, 2, 1) : null;
  return { scenario, sensor: sensorText, rateHz, seed, lossRate, speed, deviceId, bench: parseBench(spec, scenario), gain };
}

function parseBench(spec: DeviceSpec, scenario: ScenarioName): CalibrationBench {
  const loadsText = spec.options.get('loads');
  if (scenario !== 'weights' && (loadsText !== undefined || spec.options.has('holdS'))) {
    throw new DeviceSpecError(`device spec "${spec.text}": loads= and holdS= are for the calibration bench (sim:weights)`);
  }
  const holdMs = numberOption(spec, 'holdS', 1, 600, DEFAULT_BENCH.holdMs / 1000) * 1000;
  if (loadsText === undefined) return { ...DEFAULT_BENCH, holdMs };
  const loadsN = loadsText.split(',').map(Number);
  if (loadsText.trim() === '' || loadsN.some((loadN) => !Number.isFinite(loadN) || loadN <= 0 || loadN > 500)) {
    throw new DeviceSpecError(`device spec "${spec.text}": loads=${loadsText} is not a list of loads in newtons, each above 0 and at most 500 (e.g. loads=4.9,9.8,19.6)`);
  }
  return { loadsN, holdMs };
}

function isScenario(name: string): name is ScenarioName {
  return (SCENARIOS as readonly string[]).includes(name);
}

function randomSeed(): number {
  return Math.floor(Math.random() * 0xffff_0000);
}

/** The documented curve of a sensor kind, for a part `gain` times as sensitive. */
function partCalibration(sensor: SensorKind, gain: number): ForceCalibration {
  const documented = exactCalibration(sensor);
  if (gain === 1) return documented;
  return {
    ...documented,
    toNewtons: (raw) => documented.toNewtons(raw) / gain,
    toRaw: (forceN) => documented.toRaw(forceN * gain),
  };
}

/** 8 lowercase hex digits like a real device id (FNV-1a of what makes this device unique). */
function simulatedDeviceId(identity: string): string {
  let hash = 0x811c9dc5;
  for (const char of identity) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

/** The pure part: samples with their sequence numbers and device times, losses applied. */
export class SimulatedSampleSource {
  readonly #options: SimulatorOptions;
  readonly #model: ForceModel;
  /** The part's own curve (the documented one, scaled by `gain`). */
  readonly #calibration: ForceCalibration;
  readonly #lossRandom: SeededRandom;
  #seq = 0;
  #lossBurstLeft = 0;
  lostSamples = 0;
  /** Thumb-button presses made and not yet taken (takeMarks), and how many there have been. */
  #marks: DeviceMark[] = [];
  #markSeq = 0;

  constructor(options: SimulatorOptions) {
    this.#options = options;
    this.#model = new ForceModel({ scenario: options.scenario, seed: options.seed, rateHz: options.rateHz, band: SHOULDERS_BAND, bench: options.bench });
    this.#calibration = partCalibration(options.sensor, options.gain ?? 1);
    this.#lossRandom = new SeededRandom(options.seed ^ 0x5eed_1055);
  }

  /** The part's true curve: what a perfect calibration of it would find. */
  get calibration(): ForceCalibration {
    return this.#calibration;
  }

  /** The next `count` samples the device takes, minus those lost on the way. */
  take(count: number): RawSample[] {
    const samples: RawSample[] = [];
    for (let taken = 0; taken < count; taken++) {
      const seq = this.#seq++;
      const raw = this.#calibration.toRaw(this.#model.next());
      // A press is its own message: it arrives even when the sample of its moment is lost.
      if (this.#model.takeMark()) this.#press(this.#timeOf(seq));
      if (this.#isLost()) {
        this.lostSamples++;
        continue;
      }
      samples.push({ deviceId: this.#options.deviceId, seq, deviceTimeUs: this.#timeOf(seq), raw });
    }
    return samples;
  }

  /** The thumb button pressed now: at the last sample taken (the first, before any). */
  pressButton(): DeviceMark {
    return this.#press(this.#timeOf(Math.max(0, this.#seq - 1)));
  }

  /** The presses made since the last call, in order. */
  takeMarks(): DeviceMark[] {
    const marks = this.#marks;
    this.#marks = [];
    return marks;
  }

  #press(deviceTimeUs: number): DeviceMark {
    const mark: DeviceMark = { deviceId: this.#options.deviceId, seq: this.#markSeq++, deviceTimeUs, lostBefore: 0 };
    this.#marks.push(mark);
    return mark;
  }

  #timeOf(seq: number): number {
    return Math.round((seq * 1e6) / this.#options.rateHz);
  }

  get samplesTaken(): number {
    return this.#seq;
  }

  #isLost(): boolean {
    if (this.#options.lossRate === 0) return false;
    if (this.#lossBurstLeft > 0) {
      this.#lossBurstLeft--;
      return true;
    }
    if (!this.#lossRandom.chance(this.#options.lossRate / MEAN_LOSS_BURST)) return false;
    this.#lossBurstLeft = this.#lossRandom.integer(0, 2 * MEAN_LOSS_BURST - 2);
    return true;
  }
}

export class SimulatorTransport implements Transport {
  readonly spec: string;
  readonly capabilities = LIVE_DEVICE;
  readonly #options: SimulatorOptions;
  readonly #source: SimulatedSampleSource;
  #listener: TransportListener | null = null;
  #stopPacing: (() => void) | null = null;
  #startedAtMs = 0;
  #state: TransportStatus['state'] = 'stopped';
  #samplesDelivered = 0;

  constructor(options: SimulatorOptions) {
    this.#options = options;
    this.#source = new SimulatedSampleSource(options);
    const speed = options.speed === null ? 'max' : String(options.speed);
    const bench = options.scenario === 'weights' ? `&loads=${options.bench.loadsN.map((loadN) => +loadN.toFixed(4)).join(',')}&holdS=${options.bench.holdMs / 1000}` : '';
    const gain = options.gain === null ? '' : `&gain=${options.gain}`;
    this.spec = `sim:${options.scenario}?rate=${options.rateHz}&seed=${options.seed}&sensor=${options.sensor}&loss=${options.lossRate}&speed=${speed}${bench}${gain}`;
  }

  /** The curve the simulator vouches for, or null for a part with a `gain` (it needs calibrating). */
  get calibration(): ForceCalibration | null {
    return this.#options.gain === null ? this.#source.calibration : null;
  }

  status(): TransportStatus {
    return {
      state: this.#state,
      deviceId: this.#options.deviceId,
      sensor: this.#options.sensor,
      clock: 'device',
      firmware: SIMULATOR_FIRMWARE,
      nominalRateHz: this.#options.rateHz,
      samples: this.#samplesDelivered,
      lostSamples: this.#source.lostSamples,
      droppedLines: {},
      lastError: null,
    };
  }

  start(listener: TransportListener): Promise<void> {
    if (this.#listener !== null) throw new Error(`simulator ${this.#options.deviceId} is already started`);
    this.#listener = listener;
    this.#state = 'connected';
    listener.onStatus(this.status());
    this.#startedAtMs = performance.now();
    if (this.#options.speed === null) {
      this.#runUnpaced();
    } else {
      const interval = setInterval(() => this.#deliverDueSamples(), TICK_MS);
      this.#stopPacing = () => clearInterval(interval);
    }
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.#stopPacing?.();
    this.#stopPacing = null;
    if (this.#listener !== null && this.#state !== 'stopped') {
      this.#state = 'stopped';
      this.#listener.onStatus(this.status());
    }
    this.#listener = null;
    return Promise.resolve();
  }

  #deliverDueSamples(): void {
    const elapsedS = ((performance.now() - this.#startedAtMs) / 1000) * (this.#options.speed ?? 1);
    const due = Math.floor(elapsedS * this.#options.rateHz) - this.#source.samplesTaken;
    if (due > 0) this.#deliver(this.#source.take(due));
  }

  #runUnpaced(): void {
    let immediate: NodeJS.Immediate;
    const step = (): void => {
      this.#deliver(this.#source.take(UNPACED_CHUNK));
      immediate = setImmediate(step);
    };
    immediate = setImmediate(step);
    this.#stopPacing = () => clearImmediate(immediate);
  }

  /**
   * Presses the simulated thumb button now (dated at the latest sample): every listener
   * gets the mark at once. Throws while the transport is not running.
   */
  pressButton(): DeviceMark {
    if (this.#listener === null) throw new Error(`simulator ${this.#options.deviceId} is not started: nothing to press`);
    const mark = this.#source.pressButton();
    this.#deliver([]);
    return mark;
  }

  /** Samples, then the presses made among them (a listener has the readings up to a mark when it gets it). */
  #deliver(batch: RawSample[]): void {
    const listener = this.#listener;
    if (listener === null) return;
    if (batch.length > 0) {
      this.#samplesDelivered += batch.length;
      listener.onSamples(batch);
    }
    for (const mark of this.#source.takeMarks()) listener.onMark?.(mark);
  }
}
