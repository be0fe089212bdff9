/**
 * The calibration page's server end: a calibration session per device, fed with the
 * device's raw samples from its pipeline, driven by the dashboard's requests (tare,
 * capture a known load, cancel, remove a point, start over, save), each validated with
 * its schema and answered with a socket.io acknowledgement like `selectPreset`. Every
 * client sees the same session: each change goes out as a `calibration` event (progress
 * at most ten times a second), and a client that connects gets every device's state,
 * saved history included. A tare or capture refused because the reading does not fit
 * what the person says (a loaded tip, a load far from the one typed) is done anyway
 * when the request repeats it with `confirm: true`; so is a save whose curve moves forces by
 * more than 25 % from the profile in force or the default curve (`calibration/change.ts`).
 *
 * Saving appends a profile to the device's history in the profile store; the device's
 * pipeline, subscribed to the store, converts with it from its next sample. A tare on a
 * device that has a profile re-zeros that profile too (a new history entry with the same
 * curve), since the zero moved for every reading, not only for the calibration. Saves and
 * tares go into the audit trail with the client that asked.
 *
 * Pipeline position: beside the live broadcaster (`broadcaster.ts`), on the same socket.io
 * server; a pipeline listener for the raw samples.
 */
import type { Server, Socket } from 'socket.io';
import type { z } from 'zod';
import { calibrationChange, UnconfirmedChangeError, type CalibrationChange } from '../../calibration/change.ts';
import { CalibrationError, type FitResult } from '../../calibration/fit.ts';
import { newProfileEntry, retaredEntry, type ProfileEntry } from '../../calibration/profile.ts';
import { CalibrationSession, ImplausibleReadingError } from '../../calibration/session.ts';
import { ProfileFileError, type ProfileStore } from '../../calibration/store.ts';
import { knownLoad, LoadError } from '../../calibration/units.ts';
import { DEVICE_ID_PATTERN } from '../../device/device-id.ts';
import { calibrationRequestSchemas, type CalibrationState } from '../contract/calibration-events.ts';
import type { ClientToServerEvents, CommandReply, DeviceInfo, DeviceStatus, ServerToClientEvents } from '../contract/live-events.ts';
import type { Logger } from '../log.ts';
import type { PipelineListener, Readings } from '../pipeline.ts';
import type { AuditTrail } from '../recording/audit-trail.ts';
import type { LiveRequests } from './requests.ts';

type LiveServer = Server<ClientToServerEvents, ServerToClientEvents>;
type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

/** Progress goes out at most this often per device (a settling bar, not every sample). */
const STATE_INTERVAL_MS = 100;

/** What the calibration page needs of a device's pipeline. */
export interface CalibratedDevice {
  readonly info: DeviceInfo | null;
  /** Raw counts to newtons with the device's current calibration (stillness is judged in newtons). */
  toNewtons(raw: number): number;
  /** The device's own TARE, if it has one. */
  readonly deviceTare: (() => Promise<void>) | undefined;
}

interface DeviceCalibration {
  readonly session: CalibrationSession;
  history: ProfileEntry[];
  historyError: string | null;
  timer: NodeJS.Timeout | null;
  lastSentMs: number;
}

/** Why a device cannot be calibrated, from what its transport states about it. */
function notCalibratable(info: DeviceInfo): string {
  return info.capabilities.forcesCalibrated
    ? `device ${info.deviceId} is a ${info.transport}: its forces were calibrated when they were recorded; calibrate the device that recorded them`
    : `device ${info.deviceId} (${info.transport}) cannot be calibrated`;
}

function roundCount(raw: number): number {
  return Math.round(raw * 10) / 10;
}

/** A profile as the audit log shows it (null: the sensor's default curve). */
function profileSummary(entry: ProfileEntry | null): Record<string, string | number | null> {
  if (entry === null) return { profile: 'default curve' };
  return { profile: entry.createdAt, model: entry.fit.model, points: entry.points.length, tareRaw: roundCount(entry.tareRaw), areaCm2: entry.areaCm2 };
}

/** How far the new curve moved forces, and whether the person confirmed it. */
function changeSummary(change: CalibrationChange, result: FitResult): Record<string, string | number | boolean> {
  const [lightN, heavyN] = result.stats.rangeN;
  const largest = change.change === null ? 'none' : `${change.change.relative >= 0 ? '+' : ''}${Math.round(change.change.relative * 100)} % at ${change.change.currentN.toFixed(2)} N`;
  return { rangeN: `${lightN.toFixed(2)} to ${heavyN.toFixed(2)} N`, largestChange: largest, confirmed: change.needsConfirming };
}

export class CalibrationLive implements PipelineListener {
  readonly #io: LiveServer;
  readonly #store: ProfileStore;
  readonly #devices: () => readonly CalibratedDevice[];
  readonly #logger: Logger;
  readonly #calibrations = new Map<string, DeviceCalibration>();
  readonly #stopWatching: () => void;
  readonly #audit: AuditTrail;

  /** `requests`: the live stream's (the broadcaster's), where the calibration steps are served. */
  constructor(io: LiveServer, requests: LiveRequests, store: ProfileStore, devices: () => readonly CalibratedDevice[], logger: Logger, audit: AuditTrail = () => undefined) {
    this.#io = io;
    this.#store = store;
    this.#devices = devices;
    this.#logger = logger;
    this.#audit = audit;
    this.#stopWatching = store.subscribe((deviceId) => {
      const calibration = this.#calibrations.get(deviceId);
      if (calibration === undefined) return;
      this.#readHistory(deviceId, calibration);
      this.#send(deviceId, true);
    });
    io.on('connection', (socket) => this.#welcome(socket));
    this.#serveRequests(requests);
  }

  onInfo(info: DeviceInfo): void {
    // A device that cannot be calibrated (a replay plays back forces calibrated when they were recorded) gets no session.
    if (!DEVICE_ID_PATTERN.test(info.deviceId) || !info.capabilities.calibratable) return;
    const existing = this.#calibrations.get(info.deviceId);
    if (existing?.session.sensor === info.sensor) return;
    existing?.session.close('the device changed sensor kind');
    const calibration: DeviceCalibration = {
      session: new CalibrationSession({
        deviceId: info.deviceId,
        sensor: info.sensor,
        toNewtons: (raw) => this.#device(info.deviceId)?.toNewtons(raw) ?? Number.NaN,
        tareDevice: info.sensor === 'hx711' ? () => this.#device(info.deviceId)?.deviceTare?.() ?? Promise.resolve() : undefined,
        // Progress at most ten times a second; anything else at once (before the request's answer).
        onChange: (change) => this.#send(info.deviceId, change === 'state'),
      }),
      history: [],
      historyError: null,
      timer: null,
      lastSentMs: 0,
    };
    this.#readHistory(info.deviceId, calibration);
    this.#calibrations.set(info.deviceId, calibration);
    this.#send(info.deviceId, true);
  }

  onReadings(deviceId: string, readings: Readings): void {
    this.#calibrations.get(deviceId)?.session.feed(readings.tMs, readings.raw);
  }

  /** The engine's findings do not concern calibration. */
  onEngineEvents(): void {
    return;
  }

  onStatus(status: DeviceStatus): void {
    // A device that stops cannot settle: a capture waiting on it ends now, not at its time limit.
    if (status.state === 'stopped') this.#calibrations.get(status.deviceId)?.session.cancelCapture('the device stopped');
  }

  /** Engine sessions (holds, warnings) do not concern calibration. */
  onSession(): void {
    return;
  }

  close(): void {
    this.#stopWatching();
    for (const calibration of this.#calibrations.values()) {
      if (calibration.timer !== null) clearTimeout(calibration.timer);
      calibration.session.close('the server is shutting down');
    }
  }

  /** Every device's calibration as the page shows it (what a client gets on connection). */
  states(): CalibrationState[] {
    return [...this.#calibrations.keys()].flatMap((deviceId) => this.state(deviceId) ?? []);
  }

  /** One device's calibration as the page shows it. */
  state(deviceId: string): CalibrationState | null {
    const calibration = this.#calibrations.get(deviceId);
    if (calibration === undefined) return null;
    const { session } = calibration;
    let fit: CalibrationState['fit'] = null;
    let fitError: string | null = null;
    try {
      const result = session.fit();
      fit = { sensor: result.sensor, tareRaw: result.tareRaw, fit: result.fit, points: result.points, stats: result.stats, candidates: result.candidates };
    } catch (error) {
      if (!(error instanceof CalibrationError)) throw error;
      fitError = error.message;
    }
    const capture = session.capturing;
    return {
      deviceId,
      sensor: session.sensor,
      tare: session.tareState,
      points: [...session.points],
      capture: capture === null ? null : { forceN: capture.load.forceN, massKg: capture.load.massKg, ...capture.progress },
      fit,
      fitError,
      history: calibration.history,
      historyError: calibration.historyError,
    };
  }

  #device(deviceId: string): CalibratedDevice | undefined {
    return this.#devices().find((device) => device.info?.deviceId === deviceId);
  }

  #readHistory(deviceId: string, calibration: DeviceCalibration): void {
    try {
      calibration.history = this.#store.read(deviceId)?.history ?? [];
      calibration.historyError = null;
    } catch (error) {
      calibration.history = [];
      calibration.historyError = error instanceof Error ? error.message : String(error);
    }
  }

  /** Sends a device's state to every client: at once, or (progress) at most every STATE_INTERVAL_MS. */
  #send(deviceId: string, now: boolean): void {
    const calibration = this.#calibrations.get(deviceId);
    if (calibration === undefined) return;
    const dueMs = calibration.lastSentMs + STATE_INTERVAL_MS - performance.now();
    if (!now && dueMs > 0) {
      calibration.timer ??= setTimeout(() => {
        calibration.timer = null;
        this.#send(deviceId, true);
      }, dueMs);
      return;
    }
    if (calibration.timer !== null) clearTimeout(calibration.timer);
    calibration.timer = null;
    calibration.lastSentMs = performance.now();
    const state = this.state(deviceId);
    if (state !== null) this.#io.emit('calibration', state);
  }

  #welcome(socket: LiveSocket): void {
    for (const state of this.states()) socket.emit('calibration', state);
  }

  #serveRequests(live: LiveRequests): void {
    const requests = calibrationRequestSchemas;
    live.on('calibrationTare', (payload, reply, client) => void this.#serve('calibrationTare', requests.calibrationTare, payload, reply, ({ deviceId, confirm }) => this.#tare(deviceId, confirm === true, client)));
    live.on('calibrationCapture', (payload, reply) =>
      void this.#serve('calibrationCapture', requests.calibrationCapture, payload, reply, async ({ deviceId, value, unit, confirm }) => {
        await this.#session(deviceId).capture(knownLoad(value, unit), undefined, { confirm: confirm === true });
      }),
    );
    live.on('calibrationCancel', (payload, reply) => void this.#serve('calibrationCancel', requests.calibrationCancel, payload, reply, ({ deviceId }) => this.#session(deviceId).cancelCapture()));
    live.on('calibrationRemovePoint', (payload, reply) => void this.#serve('calibrationRemovePoint', requests.calibrationRemovePoint, payload, reply, ({ deviceId, index }) => this.#session(deviceId).removePoint(index)));
    live.on('calibrationReset', (payload, reply) => void this.#serve('calibrationReset', requests.calibrationReset, payload, reply, ({ deviceId }) => this.#session(deviceId).reset()));
    live.on('calibrationSave', (payload, reply, client) => void this.#serve('calibrationSave', requests.calibrationSave, payload, reply, ({ deviceId, areaCm2, confirm }) => this.#save(deviceId, areaCm2, confirm === true, client)));
  }

  /** Saves the fit as the device's profile; one that moves forces a lot only when confirmed. */
  #save(deviceId: string, areaCm2: number, confirm: boolean, client: string): void {
    const session = this.#session(deviceId);
    const result = session.fit();
    const before = this.#store.active(deviceId);
    const change = calibrationChange(result, before);
    if (change.message !== null && !confirm) throw new UnconfirmedChangeError(`${session.label}: ${change.message}`);
    const entry = newProfileEntry(result, { areaCm2, madeWith: 'dashboard' });
    this.#store.append(deviceId, entry);
    this.#logger.info({ deviceId, model: result.fit.model, points: result.points.length, confirmed: change.needsConfirming }, 'calibration saved');
    this.#audit({ client, action: 'calibration', deviceId, sessionId: null, before: profileSummary(before?.sensor === result.sensor ? before : null), after: { ...profileSummary(entry), ...changeSummary(change, result) } });
  }

  async #tare(deviceId: string, confirm: boolean, client: string): Promise<void> {
    const session = this.#session(deviceId);
    const tare = await session.tare({ confirm });
    // The zero moved for every reading, not just for this calibration: re-zero the profile in force too.
    const active = this.#store.active(deviceId);
    const rezero = active !== null && active.sensor === session.sensor;
    if (rezero) {
      this.#store.append(deviceId, retaredEntry(active, tare.raw, 'dashboard'));
      this.#logger.info({ deviceId, tareRaw: tare.raw }, 'calibration re-tared');
    }
    this.#audit({
      client,
      action: 'tare',
      deviceId,
      sessionId: null,
      before: { tareRaw: rezero ? active.tareRaw : null },
      after: { tareRaw: roundCount(tare.raw), onDevice: tare.onDevice, profileRezeroed: rezero, confirmed: confirm },
    });
  }

  #session(deviceId: string): CalibrationSession {
    const calibration = this.#calibrations.get(deviceId);
    const device = this.#device(deviceId);
    const info = device?.info ?? null;
    if (info !== null && !info.capabilities.calibratable) throw new CalibrationError(notCalibratable(info));
    if (calibration === undefined || device === undefined) {
      throw new CalibrationError(`no device ${deviceId} on this server (the devices are: ${this.#devices().map((device) => device.info?.deviceId ?? '?').join(', ') || 'none'})`);
    }
    return calibration.session;
  }

  /** Validates a request, runs it, and answers it: `{ok: true}`, or `{ok: false, error}` saying what was wrong. */
  async #serve<Request>(event: string, schema: z.ZodType<Request>, payload: unknown, answer: (result: CommandReply) => void, run: (request: Request) => Promise<void> | void): Promise<void> {
    const request = schema.safeParse(payload);
    if (!request.success) {
      answer({ ok: false, error: `${event}: ${request.error.issues.map((issue) => `${issue.path.join('.') || 'payload'}: ${issue.message}`).join('; ')}` });
      return;
    }
    try {
      await run(request.data);
      answer({ ok: true });
    } catch (error) {
      if (error instanceof ImplausibleReadingError || error instanceof UnconfirmedChangeError) {
        answer({ ok: false, error: error.message, confirmable: true });
        return;
      }
      if (error instanceof CalibrationError || error instanceof LoadError || error instanceof ProfileFileError) {
        answer({ ok: false, error: error.message });
        return;
      }
      this.#logger.error({ err: error, event }, 'calibration request failed');
      answer({ ok: false, error: `${event} failed on the server (${error instanceof Error ? error.message : String(error)})` });
    }
  }
}
