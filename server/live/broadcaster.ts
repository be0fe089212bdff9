/**
 * The live broadcaster: the socket.io end of the pipeline. Readings are batched per
 * device and flushed every 50 ms, all devices in one volatile message (a slow client
 * misses samples, never the server's memory); the device list and status go reliably. A client that
 * connects gets the device list, every status and the last 30 s of readings at once,
 * so a reloaded or reconnected dashboard is whole immediately.
 */
import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import type { Readings, PipelineListener } from '../pipeline.ts';
import type { ClientToServerEvents, DeviceInfo, DeviceStatus, ReadingsBatch, ServerToClientEvents } from './events.ts';

export const FLUSH_INTERVAL_MS = 50;
export const HISTORY_MS = 30_000;

type LiveServer = Server<ClientToServerEvents, ServerToClientEvents>;
type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

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

export class LiveBroadcaster implements PipelineListener {
  readonly io: LiveServer;
  readonly #devices = new Map<string, DeviceInfo>();
  readonly #statuses = new Map<string, DeviceStatus>();
  readonly #pending = new Map<string, Readings[]>();
  readonly #recent = new Map<string, RecentReadings>();
  readonly #flushTimer: NodeJS.Timeout;

  constructor(httpServer: HttpServer) {
    this.io = new Server<ClientToServerEvents, ServerToClientEvents>(httpServer, { serveClient: false });
    this.io.on('connection', (socket) => this.#welcome(socket));
    this.#flushTimer = setInterval(() => this.flush(), FLUSH_INTERVAL_MS);
  }

  onInfo(info: DeviceInfo): void {
    this.#devices.set(info.deviceId, info);
    this.io.emit('devices', [...this.#devices.values()]);
  }

  onStatus(status: DeviceStatus): void {
    this.#statuses.set(status.deviceId, status);
    this.io.emit('status', status);
  }

  onReadings(deviceId: string, readings: Readings): void {
    const pending = this.#pending.get(deviceId);
    if (pending === undefined) this.#pending.set(deviceId, [readings]);
    else pending.push(readings);
  }

  /** Sends what has accumulated since the last flush: one message, a batch per device. */
  flush(): void {
    const batches: ReadingsBatch[] = [];
    for (const [deviceId, pending] of this.#pending) {
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
  }

  async close(): Promise<void> {
    clearInterval(this.#flushTimer);
    this.flush();
    await this.io.close();
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
    socket.emit('devices', [...this.#devices.values()]);
    for (const status of this.#statuses.values()) socket.emit('status', status);
    socket.emit('history', [...this.#recent].map(([deviceId, recent]) => recent.joined(deviceId)));
  }
}
