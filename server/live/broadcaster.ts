/**
 * The live broadcaster: the socket.io end of the pipeline. Readings are batched per
 * device and flushed every 50 ms, all devices in one volatile message (a slow client
 * misses samples, never the server's memory). Engine events go reliably: a warning or a
 * hold event at once, zone changes with the next flush, folded so a force trembling at
 * a threshold does not flood the link. A client that connects gets the device list,
 * every status, each device's session so far and the last 30 s of readings at once, so
 * a reloaded or reconnected dashboard is whole immediately, open warning included.
 *
 * Joined to other servers by a bus (`bus.ts`, `--bus`), the broadcasts go through socket.io's
 * adapter to the clients of every server; the device list is this server's devices and the
 * others' (each server sends it to its own clients); this server's clients get every
 * broadcast at once, never behind Redis (`bus.ts`).
 */
import type { Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { Server, type ServerOptions, type Socket } from 'socket.io';
import type { EngineEvent } from '../engine/results.ts';
import type { PipelineListener, Readings } from '../pipeline.ts';
import { LiveRequests } from './requests.ts';
import {
  clientEventSchemas,
  type ClientToServerEvents,
  type CommandReply,
  type DeviceInfo,
  type DeviceStatus,
  type ReadingsBatch,
  type SelectPreset,
  type ServerToClientEvents,
  type SessionSnapshot,
} from '../contract/live-events.ts';

export const FLUSH_INTERVAL_MS = 50;
export const HISTORY_MS = 30_000;

type LiveServer = Server<ClientToServerEvents, ServerToClientEvents>;
type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

/** The devices of the other servers on the bus (`bus.ts`). */
export interface RemoteDevices {
  devices(): DeviceInfo[];
  /** Their latest status (disconnected for a server no longer heard). */
  statuses(): DeviceStatus[];
  /** A client connected here: the other servers send it their devices' state. */
  welcome(socket: LiveSocket): void;
}

/** What the broadcaster asks of the rest of the server. */
export interface LiveControl {
  /** Every device's session so far, for a client that connects. */
  sessions(): SessionSnapshot[];
  /** Applies a client's preset choice (`client`: who asked, as `clientName` names them); throws an Error whose message the client is shown. */
  selectPreset(request: SelectPreset, client: string): void;
}

/** A device's recent readings, kept as the batches that were sent (oldest first). */
class RecentReadings {
  readonly #batches: ReadingsBatch[] = [];

  add(batch: ReadingsBatch): void {
    this.#batches.push(batch);
    const newestMs = batch.tMs.at(-1) ?? 0;
    while ((this.#batches[0]?.tMs.at(-1) ?? Infinity) < newestMs - HISTORY_MS) this.#batches.shift();
  }

  /** Everything kept, as one batch. */
  joined(deviceId: string): ReadingsBatch {
    return {
      deviceId,
      tMs: this.#batches.flatMap((batch) => batch.tMs),
      forceN: this.#batches.flatMap((batch) => batch.forceN),
      raw: this.#batches.flatMap((batch) => batch.raw),
    };
  }
}

/**
 * Folds each run of consecutive `zone.changed` events into one (from the run's first
 * `previous` to its last `zone`), dropping it if the zone ended where it began.
 */
export function foldZoneChanges(events: readonly EngineEvent[]): EngineEvent[] {
  const folded: EngineEvent[] = [];
  for (const event of events) {
    const last = folded.at(-1);
    if (event.type === 'zone.changed' && last?.type === 'zone.changed') {
      folded[folded.length - 1] = { ...event, previous: last.previous };
    } else {
      folded.push(event);
    }
  }
  return folded.filter((event) => event.type !== 'zone.changed' || event.zone !== event.previous);
}

export class LiveBroadcaster implements PipelineListener {
  readonly io: LiveServer;
  /** Clients' requests: every part of the server registers its own here. */
  readonly requests = new LiveRequests();
  #remote: RemoteDevices | null = null;
  readonly #control: LiveControl;
  readonly #devices = new Map<string, DeviceInfo>();
  readonly #statuses = new Map<string, DeviceStatus>();
  readonly #pendingReadings = new Map<string, Readings[]>();
  readonly #pendingZoneChanges = new Map<string, EngineEvent[]>();
  readonly #recent = new Map<string, RecentReadings>();
  readonly #flushTimer: NodeJS.Timeout;
  /** The connections socket.io upgraded to WebSockets: the HTTP server no longer ends them itself. */
  readonly #upgraded = new Set<Duplex>();

  /** `options`: socket.io's, e.g. `allowRequest` (which connections are let in). */
  constructor(httpServer: HttpServer, control: LiveControl, options: Partial<Pick<ServerOptions, 'allowRequest'>> = {}) {
    this.io = new Server<ClientToServerEvents, ServerToClientEvents>(httpServer, { serveClient: false, ...options });
    this.#control = control;
    this.io.on('connection', (socket) => this.#welcome(socket));
    httpServer.on('upgrade', (_request, socket: Duplex) => this.#trackUpgraded(socket));
    this.#flushTimer = setInterval(() => this.flush(), FLUSH_INTERVAL_MS);
    this.requests.on('selectPreset', (payload, reply, client) => this.#onSelectPreset(payload, reply, client));
  }

  /** Joins the other servers' devices to this server's list (the bus calls it once). */
  joinBus(remote: RemoteDevices): void {
    this.#remote = remote;
  }

  /** This server's own devices. */
  ownDevices(): DeviceInfo[] {
    return [...this.#devices.values()];
  }

  ownStatuses(): DeviceStatus[] {
    return [...this.#statuses.values()];
  }

  /** The last 30 s of every own device, one batch each (what a client gets on connection). */
  history(): ReadingsBatch[] {
    return [...this.#recent].map(([deviceId, recent]) => recent.joined(deviceId));
  }

  /** Sends this server's clients the device list: its own devices, then the other servers'. */
  devicesChanged(): void {
    this.io.local.emit('devices', this.#deviceList());
  }

  #deviceList(): DeviceInfo[] {
    const own = this.ownDevices();
    if (this.#remote === null) return own;
    const ownIds = new Set(own.map((device) => device.deviceId));
    return [...own, ...this.#remote.devices().filter((device) => !ownIds.has(device.deviceId))];
  }


  onInfo(info: DeviceInfo, replacesDeviceId: string | null): void {
    if (replacesDeviceId !== null) this.#forget(replacesDeviceId);
    this.#devices.set(info.deviceId, info);
    this.devicesChanged();
  }

  /** Drops what is kept under a device id that no longer names a device. */
  #forget(deviceId: string): void {
    this.#devices.delete(deviceId);
    this.#statuses.delete(deviceId);
    this.#pendingReadings.delete(deviceId);
    this.#pendingZoneChanges.delete(deviceId);
    this.#recent.delete(deviceId);
  }

  onStatus(status: DeviceStatus): void {
    this.#statuses.set(status.deviceId, status);
    this.io.emit('status', status);
  }

  onSession(snapshot: SessionSnapshot): void {
    this.io.emit('session', snapshot);
  }

  onReadings(deviceId: string, readings: Readings): void {
    const pending = this.#pendingReadings.get(deviceId);
    if (pending === undefined) this.#pendingReadings.set(deviceId, [readings]);
    else pending.push(readings);
  }

  /** Hold and warning events leave at once (with any zone change before them); zone changes wait for the flush. */
  onEngineEvents(deviceId: string, events: readonly EngineEvent[]): void {
    const pending = this.#pendingZoneChanges.get(deviceId) ?? [];
    pending.push(...events);
    if (events.every((event) => event.type === 'zone.changed')) {
      this.#pendingZoneChanges.set(deviceId, pending);
      return;
    }
    this.#pendingZoneChanges.delete(deviceId);
    this.io.emit('engine', { deviceId, events: foldZoneChanges(pending) });
  }

  /** Sends what has accumulated since the last flush: readings in one volatile message, zone changes reliably. */
  flush(): void {
    const batches: ReadingsBatch[] = [];
    for (const [deviceId, pending] of this.#pendingReadings) {
      if (pending.length === 0) continue;
      const batch: ReadingsBatch = {
        deviceId,
        tMs: pending.flatMap((readings) => readings.tMs),
        forceN: pending.flatMap((readings) => readings.forceN),
        raw: pending.flatMap((readings) => readings.raw),
      };
      pending.length = 0;
      this.#recentFor(deviceId).add(batch);
      batches.push(batch);
    }
    if (batches.length > 0) this.io.volatile.emit('readings', batches);
    for (const [deviceId, pending] of this.#pendingZoneChanges) {
      const events = foldZoneChanges(pending);
      if (events.length > 0) this.io.emit('engine', { deviceId, events });
    }
    this.#pendingZoneChanges.clear();
  }

  async close(): Promise<void> {
    clearInterval(this.#flushTimer);
    this.flush();
    // Every client is told goodbye (a WebSocket close frame, written at once), then its
    // connection is ended here: socket.io's close waits for the HTTP server's, which waits for
    // each WebSocket to end, and one whose client never answers (a tablet asleep, a frozen tab)
    // would hold the whole server for ws's 30 s closing timeout.
    this.io.engine.close();
    for (const socket of this.#upgraded) socket.destroy();
    await this.io.close();
  }

  #trackUpgraded(socket: Duplex): void {
    this.#upgraded.add(socket);
    socket.once('close', () => this.#upgraded.delete(socket));
  }

  #recentFor(deviceId: string): RecentReadings {
    let recent = this.#recent.get(deviceId);
    if (recent === undefined) {
      recent = new RecentReadings();
      this.#recent.set(deviceId, recent);
    }
    return recent;
  }

  #welcome(socket: LiveSocket): void {
    socket.emit('devices', this.#deviceList());
    for (const status of this.#statuses.values()) socket.emit('status', status);
    for (const status of this.#remote?.statuses() ?? []) socket.emit('status', status);
    for (const snapshot of this.#control.sessions()) socket.emit('session', snapshot);
    socket.emit('history', this.history());
    this.requests.serve(socket);
    this.#remote?.welcome(socket);
  }

  /** Validates a client's preset choice and answers it; nothing changes on a bad request. */
  #onSelectPreset(payload: unknown, answer: (result: CommandReply) => void, client: string): void {
    const request = clientEventSchemas.selectPreset.safeParse(payload);
    if (!request.success) {
      answer({ ok: false, error: `selectPreset: ${request.error.issues.map((issue) => `${issue.path.join('.') || 'payload'}: ${issue.message}`).join('; ')}` });
      return;
    }
    try {
      this.#control.selectPreset(request.data, client);
      answer({ ok: true });
    } catch (error) {
      answer({ ok: false, error: error instanceof Error ? error.message : String(error) });
    }
  }
}
