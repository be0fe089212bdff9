/**
 * The dashboard's live state: one socket.io connection to the server and a `DeviceView`
 * per device. Every message is validated with the same schema the server sends it with;
 * a message that fails is dropped and counted, never half-applied. socket.io reconnects
 * by itself when the server restarts; the server then re-sends devices, status and the
 * last 30 s, so the view is whole again at once. When the server records sessions, the
 * recorder's status says whether it can (and if not, why), which session each device is
 * in and the label its holds get; `labelHold` sets that label. Each device's calibration
 * in progress and saved history (`calibration`) is kept for the calibration page, whose
 * requests go through `calibrate`.
 */
import { io, type Socket } from 'socket.io-client';
import type { z } from 'zod';
import {
  commandReplySchema,
  serverEventSchemas,
  type ClientToServerEvents,
  type DeviceInfo,
  type DeviceStatus,
  type LabelHold,
  type MarkEvent,
  type ReadingsBatch,
  type RenameDevice,
  type RecorderStatus,
  type SelectPreset,
  type ServerToClientEvents,
} from '../../../server/contract/live-events.ts';
import type { CalibrationState } from '../../../server/contract/calibration-events.ts';
import { freshnessOf } from './freshness.ts';
import { ReadingBuffer } from './reading-buffer.ts';
import { DeviceSession } from './session.svelte.ts';
import type { HoldLabel } from '../../../server/contract/records.ts';

export const CHART_WINDOW_MS = 30_000;
/** A capture may wait 30 s for its load to settle (calibration/session.ts), then answers. */
const CALIBRATION_REPLY_MS = 40_000;
type CalibrationEvent = 'calibrationTare' | 'calibrationCapture' | 'calibrationCancel' | 'calibrationRemovePoint' | 'calibrationReset' | 'calibrationSave';
/** Keep a little more than the chart shows so its left edge never shows a gap. */
const BUFFER_WINDOW_MS = CHART_WINDOW_MS + 2000;

/** A request the server refused: why, and whether the person may insist (`confirm: true`). */
export interface Refusal {
  readonly error: string;
  readonly confirmable: boolean;
}

export class DeviceView {
  info: DeviceInfo;
  status = $state.raw<DeviceStatus | null>(null);
  /** The newest force, newtons; updated per batch (about 20 times a second). */
  forceN = $state<number | null>(null);
  /** The newest raw count, as the sensor sent it (the calibration page shows it). */
  raw = $state<number | null>(null);
  /** Device time of the newest reading, ms (NaN before any). */
  latestMs = $state(Number.NaN);
  /** performance.now() when the last live batch arrived (NaN before any), for freshness (freshness.ts). */
  lastReadingAtMs = $state(Number.NaN);
  /** Date.now() when the last live batch arrived (NaN before any): "no reading since 14:03:12". */
  lastReadingWallMs = $state(Number.NaN);
  readonly buffer = new ReadingBuffer(BUFFER_WINDOW_MS);
  readonly session = new DeviceSession();
  /** What the recorder does for this device: the session being recorded (null between sessions) and the label for its holds. */
  recording = $state.raw<{ sessionId: number | null; label: HoldLabel } | null>(null);
  /** Goes up each time the `l` key asks to label this device's holds (the panel then opens its label form). */
  labelRequests = $state(0);
  /** Labels this device's holds (the one in progress and the next); resolves with the server's refusal, if any. */
  readonly labelHold: (label: HoldLabel) => Promise<string | null>;
  /** Local clock minus device clock, ms: lets the chart scroll smoothly between batches. */
  #clockOffsetMs = Number.NaN;

  constructor(info: DeviceInfo, labelHold: (request: LabelHold) => Promise<string | null> = () => Promise.resolve('the dashboard is not connected')) {
    this.info = $state.raw(info);
    this.labelHold = (label) => labelHold({ deviceId: this.info.deviceId, ...label });
  }

  /**
   * `live`: readings as they happen (they make the view current); false for the `history`
   * a (re)connection starts with, which may end long ago (a device that stopped).
   */
  addReadings(batch: ReadingsBatch, receivedAtMs: number, live = true): void {
    this.buffer.add(batch);
    this.forceN = this.buffer.latestForceN;
    this.raw = batch.raw.at(-1) ?? this.raw;
    this.latestMs = this.buffer.latestMs;
    if (!live) return;
    this.lastReadingAtMs = receivedAtMs;
    this.lastReadingWallMs = Date.now();
    const offsetMs = receivedAtMs - this.buffer.latestMs;
    // Track the smallest delay seen (the least delayed batch), drifting up slowly so a
    // device clock that runs slow relative to ours is followed.
    this.#clockOffsetMs = Number.isNaN(this.#clockOffsetMs) || offsetMs < this.#clockOffsetMs ? offsetMs : this.#clockOffsetMs + 0.02 * (offsetMs - this.#clockOffsetMs);
  }

  /**
   * Device time (ms) the chart should end at now: the device's clock as estimated from
   * ours, a little behind the newest reading so batches arrive before they are due,
   * and never past what has arrived.
   */
  viewEndMs(nowMs: number): number {
    const latestMs = this.buffer.latestMs;
    if (Number.isNaN(this.#clockOffsetMs)) return latestMs;
    const estimatedMs = nowMs - this.#clockOffsetMs - 60;
    return Math.min(Math.max(estimatedMs, latestMs - 250), latestMs);
  }

  /** The device says it is connected, but its readings stopped coming (see freshness.ts). */
  isStale(nowMs: number): boolean {
    return this.status?.state === 'connected' && !freshnessOf(this, nowMs, true).current;
  }
}

type EventName = keyof typeof serverEventSchemas;

export class LiveConnection {
  connected = $state(false);
  /** Ever connected: distinguishes "connecting" from "reconnecting". */
  everConnected = $state(false);
  devices = $state.raw<DeviceView[]>([]);
  /** The recorder's status, or null when the server records nothing. */
  recorder = $state.raw<RecorderStatus | null>(null);
  /** The bus to the other servers (`--bus`), or null when this server is alone. */
  bus = $state.raw<z.infer<typeof serverEventSchemas.bus> | null>(null);
  /** Each device's calibration in progress and saved history, by device id. */
  calibrations = $state.raw<Readonly<Record<string, CalibrationState>>>({});
  invalidMessages = $state(0);
  /** Who hears marks as they come (the algometer page): not kept in the view, a mark is a moment. */
  #markListeners: readonly ((mark: MarkEvent) => void)[] = [];
  readonly #socket: Socket<ServerToClientEvents, ClientToServerEvents>;

  constructor(url?: string) {
    // WebSocket first: socket.io's default start on long-polling drops the volatile
    // readings sent between two polls, a gap in the trace of every dashboard that joins.
    // Polling stays as the fallback where a WebSocket cannot open.
    const options = { reconnectionDelayMax: 2000, transports: ['websocket', 'polling'], tryAllTransports: true };
    this.#socket = url === undefined ? io(options) : io(url, options);
    this.#socket.on('connect', () => {
      this.connected = true;
      this.everConnected = true;
    });
    this.#socket.on('disconnect', () => (this.connected = false));
    this.#socket.on('devices', this.#validated('devices', serverEventSchemas.devices, (list) => this.#setDevices(list)));
    const setStatus = (status: DeviceStatus): void => {
      const device = this.#device(status.deviceId);
      if (device !== undefined) device.status = status;
    };
    this.#socket.on('status', this.#validated('status', serverEventSchemas.status, setStatus));
    const addReadings = (batches: ReadingsBatch[], live: boolean): void => {
      const receivedAtMs = performance.now();
      for (const batch of batches) this.#device(batch.deviceId)?.addReadings(batch, receivedAtMs, live);
    };
    this.#socket.on('readings', this.#validated('readings', serverEventSchemas.readings, (batches) => addReadings(batches, true)));
    this.#socket.on('history', this.#validated('history', serverEventSchemas.history, (batches) => addReadings(batches, false)));
    this.#socket.on(
      'engine',
      this.#validated('engine', serverEventSchemas.engine, ({ deviceId, events }) => this.#device(deviceId)?.session.apply(events)),
    );
    this.#socket.on(
      'session',
      this.#validated('session', serverEventSchemas.session, (snapshot) => this.#device(snapshot.deviceId)?.session.applySnapshot(snapshot)),
    );
    this.#socket.on(
      'calibration',
      this.#validated('calibration', serverEventSchemas.calibration, (state) => (this.calibrations = { ...this.calibrations, [state.deviceId]: state })),
    );
    this.#socket.on('mark', this.#validated('mark', serverEventSchemas.mark, (mark) => this.#markListeners.forEach((listener) => listener(mark))));
    this.#socket.on('bus', this.#validated('bus', serverEventSchemas.bus, (status) => (this.bus = status)));
    this.#socket.on(
      'recorder',
      this.#validated('recorder', serverEventSchemas.recorder, (status) => {
        this.recorder = status;
        this.#applyRecorder();
      }),
    );
  }

  close(): void {
    this.#socket.close();
  }

  /** Asks the server to run a device with another preset; resolves with the server's refusal, if any. */
  async selectPreset(request: SelectPreset): Promise<string | null> {
    try {
      const reply = commandReplySchema.parse(await this.#socket.timeout(5000).emitWithAck('selectPreset', request));
      return reply.ok ? null : reply.error;
    } catch {
      return 'the server did not answer: try again';
    }
  }

  /** Calls `listener` with every mark (thumb button or a dashboard's request) until the returned function is called. */
  onMark(listener: (mark: MarkEvent) => void): () => void {
    this.#markListeners = [...this.#markListeners, listener];
    return () => (this.#markListeners = this.#markListeners.filter((other) => other !== listener));
  }

  /** Marks the moment on a device (space bar, big button): every client then gets a `mark` event; resolves with the server's refusal, if any. */
  async mark(deviceId: string): Promise<string | null> {
    try {
      const reply = commandReplySchema.parse(await this.#socket.timeout(5000).emitWithAck('mark', { deviceId }));
      return reply.ok ? null : reply.error;
    } catch {
      return 'the server did not answer: try again';
    }
  }

  /** Asks the server to rename a device (every dashboard then shows the new name); resolves with the server's refusal, if any. */
  async renameDevice(request: RenameDevice): Promise<string | null> {
    try {
      const reply = commandReplySchema.parse(await this.#socket.timeout(5000).emitWithAck('renameDevice', request));
      return reply.ok ? null : reply.error;
    } catch {
      return 'the server did not answer: try again';
    }
  }

  /** Asks the server to label a device's holds; resolves with the server's refusal, if any. */
  async labelHold(request: LabelHold): Promise<string | null> {
    try {
      const reply = commandReplySchema.parse(await this.#socket.timeout(5000).emitWithAck('labelHold', request));
      return reply.ok ? null : reply.error;
    } catch {
      return 'the server did not answer: try again';
    }
  }

  /**
   * A calibration request (tare, capture, ...); resolves with the server's refusal, if any.
   * A capture waits for the load to settle, so the answer may take up to half a minute.
   */
  async calibrate<Event extends CalibrationEvent>(event: Event, request: Parameters<ClientToServerEvents[Event]>[0]): Promise<Refusal | null> {
    try {
      // socket.io's types cannot pair a generic event name with its payload; this method's signature does.
      const socket = this.#socket.timeout(CALIBRATION_REPLY_MS) as unknown as { emitWithAck(event: CalibrationEvent, request: unknown): Promise<unknown> };
      const reply = commandReplySchema.parse(await socket.emitWithAck(event, request));
      return reply.ok ? null : { error: reply.error, confirmable: reply.confirmable === true };
    } catch {
      return { error: 'the server did not answer: try again', confirmable: false };
    }
  }

  /** The `l` key: opens the label form of the device holding now (else the first device). */
  requestLabel(): void {
    const device = this.devices.find((candidate) => candidate.session.hold !== null) ?? this.devices[0];
    if (device !== undefined) device.labelRequests++;
  }

  /** Devices with an open over-pressure warning. */
  get warningDevices(): DeviceView[] {
    return this.devices.filter((device) => device.session.warning !== null);
  }

  /** Wraps a handler with validation: a message that does not match its schema is dropped. */
  #validated<Payload>(event: EventName, schema: z.ZodType<Payload>, handle: (payload: Payload) => void): (payload: unknown) => void {
    return (payload) => {
      const result = schema.safeParse(payload);
      if (result.success) {
        handle(result.data);
        return;
      }
      this.invalidMessages++;
      console.error(`knotmeter: dropped an invalid "${event}" message`, result.error.issues);
    };
  }

  #device(deviceId: string): DeviceView | undefined {
    return this.devices.find((device) => device.info.deviceId === deviceId);
  }

  /** Keeps existing views (and their buffers) for devices still listed. */
  #setDevices(list: DeviceInfo[]): void {
    this.devices = list.map((info) => {
      const existing = this.#device(info.deviceId);
      if (existing === undefined) return new DeviceView(info, (request) => this.labelHold(request));
      existing.info = info;
      return existing;
    });
    this.#applyRecorder();
  }

  #applyRecorder(): void {
    for (const device of this.devices) {
      const entry = this.recorder?.devices.find((candidate) => candidate.deviceId === device.info.deviceId);
      device.recording = entry === undefined ? null : { sessionId: entry.sessionId, label: entry.label };
    }
  }
}
