/**
 * One device's pipeline: transport -> calibration -> pressure engine -> fan-out.
 * It owns the transport, converts every raw sample to newtons on device time (with the
 * device's calibration profile, looked up by its id and followed as new fits are saved,
 * else the curve its transport vouches for, else the documented default), runs the
 * engine on them, measures the rate actually received, keeps the device's own alarm and
 * LED in step (its feedback, when it has one), and hands readings, engine events and status
 * to whoever listens (`fanOut` of the live broadcaster, the recorder, the log). It never
 * blocks on them: listeners take what they are given and return.
 *
 *   const pipeline = new DevicePipeline(createTransport('sim:treatment', context), settings, fanOut(broadcaster, recorder), profiles);
 *   await pipeline.start();  ...  await pipeline.stop();
 */
import { defaultCalibration, type ForceCalibration } from '../device/sensors.ts';
import type { CalibrationDetail } from '../calibration/messages.ts';
import { profileCalibration } from '../calibration/profile.ts';
import type { ProfileStore } from '../calibration/store.ts';
import { DEFAULT_CONTACT_AREA_CM2 } from '../calibration/units.ts';
import { DEVICE_ID_PATTERN } from '../device/device-id.ts';
import { defaultDeviceName } from '../device/device-name.ts';
import type { CreatedTransport } from '../device/registry.ts';
import { DEVICE_ZONE, type DeviceMark, type RawSample, type Transport, type TransportStatus } from '../device/transport.ts';
import { PressureEngine } from './engine/engine.ts';
import { presetConfig, type PresetName } from './engine/presets.ts';
import type { EngineConfig, EngineEvent, HoldResult, WarningResult, Zone } from './engine/results.ts';
import type { DeviceInfo, DeviceStatus, MarkEvent, SessionSnapshot } from './contract/live-events.ts';

/** Calibrated readings as parallel arrays, device time in ms. */
export interface Readings {
  readonly tMs: number[];
  readonly forceN: number[];
  readonly raw: number[];
}

/** The engine's settings for a device: a body-area preset, or a custom config (preset null). */
export interface EngineSettings {
  readonly preset: PresetName | null;
  readonly config: EngineConfig;
}

export interface PipelineListener {
  onReadings(deviceId: string, readings: Readings): void;
  onEngineEvents(deviceId: string, events: readonly EngineEvent[]): void;
  onStatus(status: DeviceStatus): void;
  /** The device's identity, calibration or engine settings changed (or became known). */
  onInfo(info: DeviceInfo, replacesDeviceId: string | null): void;
  /** The session's figures were reset or replaced (a preset change, a device restart). */
  onSession(snapshot: SessionSnapshot): void;
  /** A mark: the device's thumb button, or a client's `mark` request (`DevicePipeline.mark`). */
  onMark?(mark: MarkEvent): void;
}

/** Where a device's name comes from and how renames reach it (server/devices/names.ts). */
export interface DeviceNaming {
  /** The name of a device that has just said who it is (`specName`: its `?name=`, or null). */
  nameFor(deviceId: string, specName: string | null, transportKind: string): string;
  /** Calls `listener` after a device is renamed; returns the unsubscribe. */
  subscribe(listener: (deviceId: string, name: string) => void): () => void;
}

/** What a pipeline talks to: its listeners, as one (`fanOut`). Readings only come in batches. */
export interface PipelineListeners extends Omit<PipelineListener, 'onReadings'> {
  /**
   * A batch's readings and the engine events they raised (maybe none): each listener gets
   * the readings and then the events before the next listener gets either, so the first
   * (the broadcaster) sends an alarm out before the others file the samples, and each
   * still sees a batch's readings before what the engine made of them.
   */
  onBatch(deviceId: string, readings: Readings, events: readonly EngineEvent[]): void;
}

/** One listener that passes everything to each of `listeners` in turn (broadcaster, recorder, ...). */
export function fanOut(...listeners: PipelineListener[]): PipelineListeners {
  return {
    onBatch: (deviceId, readings, events) =>
      listeners.forEach((listener) => {
        listener.onReadings(deviceId, readings);
        if (events.length > 0) listener.onEngineEvents(deviceId, events);
      }),
    onEngineEvents: (deviceId, events) => listeners.forEach((listener) => listener.onEngineEvents(deviceId, events)),
    onStatus: (status) => listeners.forEach((listener) => listener.onStatus(status)),
    onInfo: (info, replacesDeviceId) => listeners.forEach((listener) => listener.onInfo(info, replacesDeviceId)),
    onSession: (snapshot) => listeners.forEach((listener) => listener.onSession(snapshot)),
    onMark: (mark) => listeners.forEach((listener) => listener.onMark?.(mark)),
  };
}

const STATUS_INTERVAL_MS = 1000;

export class DevicePipeline {
  readonly #transport: Transport;
  readonly #fixedCalibration: ForceCalibration | null;
  /** `?name=` from the spec, or null. */
  readonly #specName: string | null;
  readonly #listener: PipelineListeners;
  #settings: EngineSettings;
  #engine: PressureEngine;
  /** Holds and warnings of this session, across engine restarts (preset changes). */
  readonly #holds: HoldResult[] = [];
  readonly #warnings: WarningResult[] = [];
  #calibration: ForceCalibration | null = null;
  #info: DeviceInfo | null = null;
  #statusTimer: NodeJS.Timeout | null = null;
  #rate = { samples: 0, firstUs: Number.NaN, lastUs: Number.NaN, rateHz: 0 };
  /** The zone last shown on the device's LED (null: none yet). */
  #shownZone: Zone | null = null;
  /** Calibration profiles by device id (null: none, every device on its transport's or the default curve). */
  readonly #profiles: ProfileStore | null;
  #stopWatchingProfiles: (() => void) | null = null;
  /** The next `seq` of this device's dashboard marks (its thumb button's come numbered by the transport). */
  #dashboardMarkSeq = 0;
  /** Device names (null: `?name=` or the default, never kept). */
  readonly #naming: DeviceNaming | null;
  #stopWatchingNames: (() => void) | null = null;

  /** The server's room (`--room`), sent with the device's info (null: none). */
  readonly #room: string | null;

  constructor(created: CreatedTransport, settings: EngineSettings, listener: PipelineListeners, profiles: ProfileStore | null = null, naming: DeviceNaming | null = null, room: string | null = null) {
    this.#profiles = profiles;
    this.#naming = naming;
    this.#room = room;
    this.#transport = created.transport;
    this.#fixedCalibration = created.calibration;
    this.#specName = created.name ?? null;
    this.#settings = settings;
    this.#engine = new PressureEngine(settings.config);
    this.#listener = listener;
  }

  get info(): DeviceInfo | null {
    return this.#info;
  }

  /** The device's transport (tests reach an emulated or simulated device's button through it). */
  get transport(): Transport {
    return this.#transport;
  }

  status(): DeviceStatus {
    return { ...this.#transport.status(), measuredRateHz: this.#rate.rateHz };
  }

  /** Raw counts to newtons as this pipeline converts them now (calibrating judges stillness with it). */
  toNewtons(raw: number): number {
    return (this.#calibration ?? defaultCalibration(this.#transport.status().sensor)).toNewtons(raw);
  }

  /** The device's own TARE, when it has one (see Transport.tare). */
  get deviceTare(): (() => Promise<void>) | undefined {
    const transport = this.#transport;
    return transport.tare === undefined ? undefined : () => transport.tare?.() ?? Promise.resolve();
  }

  /** The engine's state and this session's holds and warnings (the open warning last). */
  session(): SessionSnapshot {
    const open = this.#engine.state().warning;
    return {
      deviceId: this.#info?.deviceId ?? this.#transport.status().deviceId,
      state: this.#engine.state(),
      holds: [...this.#holds],
      warnings: open === null ? [...this.#warnings] : [...this.#warnings, open],
    };
  }

  async start(): Promise<void> {
    // A profile saved while running (the dashboard, or `npm run calibrate` in another
    // process) is used from the next sample on.
    this.#stopWatchingProfiles = this.#profiles?.subscribe((deviceId) => {
      if (deviceId === this.#info?.deviceId) this.#reloadCalibration();
    }) ?? null;
    // A rename (from any dashboard) goes out with the device's info at once.
    this.#stopWatchingNames = this.#naming?.subscribe((deviceId, name) => {
      if (this.#info !== null && deviceId === this.#info.deviceId && name !== this.#info.name) this.#publishInfo({ ...this.#info, name });
    }) ?? null;
    await this.#transport.start({
      onSamples: (batch) => this.#onSamples(batch),
      onStatus: (status) => this.#onTransportStatus(status),
      onMark: (mark) => this.#onDeviceMark(mark),
    });
    this.#statusTimer = setInterval(() => this.#publishStatus(), STATUS_INTERVAL_MS);
  }

  async stop(): Promise<void> {
    if (this.#statusTimer !== null) clearInterval(this.#statusTimer);
    this.#statusTimer = null;
    this.#stopWatchingProfiles?.();
    this.#stopWatchingProfiles = null;
    this.#stopWatchingNames?.();
    this.#stopWatchingNames = null;
    await this.#transport.stop();
    this.#emitEngineEvents(this.#engine.finish());
  }

  /**
   * Runs the engine with a preset from now on. The hold in progress ends where it stands
   * (its figures belong to the old thresholds); an open warning is closed at the last
   * sample, and the new engine raises a new one at once if the force is over the new limit.
   */
  selectPreset(preset: PresetName): void {
    if (this.#settings.preset === preset) return;
    this.#settings = { preset, config: presetConfig(preset) };
    this.#restartEngine();
    if (this.#info !== null) this.#publishInfo({ ...this.#info, preset, engineConfig: this.#settings.config });
    this.#sendOverLimit();
  }

  /**
   * A mark made on the dashboard: dated at this device's latest reading (the server knows
   * no better moment: the person saw that force when they pressed). Throws, naming why,
   * before the device has sent a reading.
   */
  mark(): MarkEvent {
    const tMs = this.#engine.state().tMs;
    const deviceId = this.#info?.deviceId ?? this.#transport.status().deviceId;
    if (tMs === null) throw new Error(`no reading from device ${deviceId} yet: nothing to mark; wait for its readings`);
    const mark: MarkEvent = { deviceId, tMs, seq: this.#dashboardMarkSeq++, source: 'dashboard' };
    this.#listener.onMark?.(mark);
    return mark;
  }

  /** The thumb button, numbered by the transport (a jump: presses lost on the way). */
  #onDeviceMark(mark: DeviceMark): void {
    this.#listener.onMark?.({ deviceId: this.#info?.deviceId ?? mark.deviceId, tMs: mark.deviceTimeUs / 1000, seq: mark.seq, source: 'device' });
  }

  /**
   * Runs the engine with a custom config from now on (a knot's preset, `preset` null in the
   * device's info), as `selectPreset` does with a body-area preset.
   */
  useConfig(config: EngineConfig): void {
    if (this.#settings.preset === null && JSON.stringify(this.#settings.config) === JSON.stringify(config)) return;
    this.#settings = { preset: null, config: { ...config } };
    this.#restartEngine();
    if (this.#info !== null) this.#publishInfo({ ...this.#info, preset: null, engineConfig: this.#settings.config });
    this.#sendOverLimit();
  }

  #restartEngine(): void {
    const lastTMs = this.#engine.state().tMs;
    const openWarning = this.#engine.state().warning;
    const events = this.#engine.finish();
    if (openWarning !== null && lastTMs !== null) {
      events.push({ type: 'over.ended', tMs: lastTMs, warning: { ...openWarning, endMs: lastTMs } });
    }
    this.#emitEngineEvents(events);
    this.#engine = new PressureEngine(this.#settings.config);
    this.#listener.onSession(this.session());
  }

  #onTransportStatus(status: TransportStatus): void {
    this.#updateInfo(status);
    // The data has ended (a replay reached its end, or the transport was stopped): the hold
    // in progress ends at its last sample, as `npm run analyze` ends it at the end of a
    // file, before listeners hear that the device stopped (the recorder then ends the
    // session with that hold in it). A fresh engine takes anything that comes after.
    if (status.state === 'stopped' && this.#engine.state().tMs !== null) {
      this.#emitEngineEvents(this.#engine.finish());
      this.#engine = new PressureEngine(this.#settings.config);
    }
    this.#listener.onStatus({ ...status, measuredRateHz: this.#rate.rateHz });
  }

  /** Learns (or re-learns, after a reconnect to another device) who the device is. */
  #updateInfo(status: TransportStatus): void {
    if (this.#info?.deviceId === status.deviceId && this.#info.sensor === status.sensor) return;
    const { calibration, detail } = this.#resolveCalibration(status.deviceId, status.sensor);
    this.#calibration = calibration;
    const transport = this.#transport.spec.split(':')[0] ?? '';
    this.#publishInfo({
      deviceId: status.deviceId,
      name: this.#naming?.nameFor(status.deviceId, this.#specName, transport) ?? this.#specName ?? defaultDeviceName(transport, status.deviceId),
      room: this.#room,
      spec: this.#transport.spec,
      transport,
      capabilities: this.#transport.capabilities,
      sensor: status.sensor,
      calibration: this.#calibration.source,
      calibrationDetail: detail,
      preset: this.#settings.preset,
      engineConfig: this.#settings.config,
    });
    this.#sendOverLimit();
  }

  /** The device's profile changed: convert with the new one, tell listeners, re-send the device's LIMIT. */
  #reloadCalibration(): void {
    const info = this.#info;
    if (info === null) return;
    const { calibration, detail } = this.#resolveCalibration(info.deviceId, info.sensor);
    if (JSON.stringify(detail) === JSON.stringify(info.calibrationDetail)) return;
    this.#calibration = calibration;
    this.#publishInfo({ ...info, calibration: calibration.source, calibrationDetail: detail });
    this.#sendOverLimit();
  }

  /**
   * The device's calibration profile (by device id) when it has one, else the curve its
   * transport vouches for (the simulator's exact one), else the documented default. A
   * profile that cannot be used (a corrupt file, another sensor kind) is not passed over in
   * silence: the problem, naming the file, goes out with the device's info.
   */
  #resolveCalibration(deviceId: string, sensor: TransportStatus['sensor']): { calibration: ForceCalibration; detail: CalibrationDetail } {
    const fallback = this.#fixedCalibration ?? defaultCalibration(sensor);
    const unprofiled = (problem: string | null): { calibration: ForceCalibration; detail: CalibrationDetail } => ({
      calibration: fallback,
      detail: { areaCm2: DEFAULT_CONTACT_AREA_CM2, profile: null, problem },
    });
    // Before a serial device says who it is, its "id" is its port: no profile to look for.
    // Forces calibrated already (a replay's counts are the recorded newtons): never through a profile.
    if (this.#profiles === null || !DEVICE_ID_PATTERN.test(deviceId) || this.#transport.capabilities.forcesCalibrated) return unprofiled(null);
    let entry;
    try {
      entry = this.#profiles.active(deviceId);
    } catch (error) {
      return unprofiled(error instanceof Error ? error.message : String(error));
    }
    if (entry === null) return unprofiled(null);
    if (entry.sensor !== sensor) {
      return unprofiled(`the calibration profile of device ${deviceId} (in ${this.#profiles.location}) is for an ${entry.sensor}, but the device reports ${sensor}: calibrate it again (npm run calibrate)`);
    }
    return {
      calibration: profileCalibration(entry),
      detail: {
        areaCm2: entry.areaCm2,
        profile: { createdAt: entry.createdAt, reason: entry.reason, madeWith: entry.madeWith, model: entry.fit.model, points: entry.points.length, error: entry.stats.error, rangeN: entry.stats.rangeN },
        problem: null,
      },
    };
  }

  /**
   * Tells the listeners who the device is. A transport may report a stand-in id until the
   * device introduces itself (a serial port before its HELLO): the real id then replaces it.
   */
  #publishInfo(info: DeviceInfo): void {
    const previousId = this.#info?.deviceId ?? null;
    this.#info = info;
    this.#listener.onInfo(info, previousId !== null && previousId !== info.deviceId ? previousId : null);
  }

  /**
   * Keeps the device's own alarm in step with the engine's limit, converted to raw counts
   * through the device's calibration (the transport re-sends it after a reboot). A refusal
   * shows in the transport's status (`lastError`); the host alarm goes on regardless.
   */
  #sendOverLimit(): void {
    const { feedback } = this.#transport;
    if (feedback === undefined || this.#calibration === null) return;
    const { overLimitN, overClearN } = this.#settings.config;
    const onRaw = this.#calibration.toRaw(overLimitN);
    const offRaw = this.#calibration.toRaw(overClearN);
    // A curve that saturates can map both to the same count: then the device's own alarm
    // cannot be set, and the host's alarm is the one that works.
    if (offRaw >= onRaw) return;
    feedback.setOverLimit(onRaw, offRaw).catch(() => undefined);
  }

  /** Shows the engine's zone on the device's LED, once per batch at most (not per trembling sample). */
  #sendZone(): void {
    const { feedback } = this.#transport;
    const zone = this.#engine.state().zone;
    if (feedback === undefined || zone === null || zone === this.#shownZone) return;
    this.#shownZone = zone;
    feedback.setZone(DEVICE_ZONE[zone]).catch(() => undefined);
  }

  #onSamples(batch: readonly RawSample[]): void {
    const first = batch[0];
    if (first === undefined) return;
    const calibration = this.#calibration ?? defaultCalibration(this.#transport.status().sensor);
    const readings: Readings = { tMs: new Array<number>(batch.length), forceN: new Array<number>(batch.length), raw: new Array<number>(batch.length) };
    for (const [index, sample] of batch.entries()) {
      readings.tMs[index] = sample.deviceTimeUs / 1000;
      readings.forceN[index] = calibration.toNewtons(sample.raw);
      readings.raw[index] = sample.raw;
    }
    // A device clock that goes back means the device restarted: a new engine for it.
    const lastTMs = this.#engine.state().tMs;
    if (lastTMs !== null && (readings.tMs[0] ?? 0) < lastTMs) this.#restartEngine();
    this.#countForRate(batch);
    const events = this.#engine.pushBatch(readings);
    this.#keepResults(events);
    this.#listener.onBatch(first.deviceId, readings, events);
    this.#sendZone();
  }

  /** Engine events outside a batch of readings (a restart, the end of the data). */
  #emitEngineEvents(events: readonly EngineEvent[]): void {
    if (events.length === 0) return;
    this.#keepResults(events);
    this.#listener.onEngineEvents(this.#info?.deviceId ?? this.#transport.status().deviceId, events);
  }

  /** This session's finished holds and warnings (`session()`). */
  #keepResults(events: readonly EngineEvent[]): void {
    for (const event of events) {
      if (event.type === 'hold.ended') this.#holds.push(event.hold);
      else if (event.type === 'over.ended') this.#warnings.push(event.warning);
    }
  }

  #countForRate(batch: readonly RawSample[]): void {
    const first = batch[0];
    const last = batch.at(-1);
    if (first === undefined || last === undefined) return;
    if (Number.isNaN(this.#rate.firstUs)) this.#rate.firstUs = first.deviceTimeUs;
    this.#rate.samples += batch.length;
    this.#rate.lastUs = last.deviceTimeUs;
  }

  /**
   * Received rate over device time since the last status: samples per device second.
   * The first sample of a window only marks its start, so n samples span n - 1 periods.
   */
  #publishStatus(): void {
    const spanUs = this.#rate.lastUs - this.#rate.firstUs;
    this.#rate.rateHz = spanUs > 0 ? ((this.#rate.samples - 1) * 1e6) / spanUs : 0;
    this.#rate = { samples: 0, firstUs: Number.NaN, lastUs: Number.NaN, rateHz: this.#rate.rateHz };
    this.#listener.onStatus(this.status());
  }
}
