/**
 * The bus between servers (`--bus redis://HOST:PORT`): one server per treatment room, joined
 * through Redis so that a dashboard on any of them shows every room's devices, and its
 * requests reach the server that owns the device.
 *
 * - Live events cross as socket.io broadcasts through socket.io's Redis **streams** adapter
 *   (`@socket.io/redis-streams-adapter`): each server appends to one Redis stream and reads
 *   it from where it left off, so a server whose connection to Redis drops, or a Redis that
 *   restarts, resumes the stream instead of losing what was sent meanwhile (the pub/sub
 *   adapter loses every message sent while a subscriber is away). Readings stay one
 *   volatile message per 50 ms flush for all of a server's devices. This server's own
 *   clients get every broadcast at once, never behind Redis (`#localFirst`). A broadcast
 *   sent while the connection is failing but not yet known to have failed waits in the Redis
 *   client's bounded queue and goes out when it is back; once the bus is known down nothing
 *   is published, and on rejoin each server sends the others' clients its devices' state
 *   (the session so far: its holds and warnings, the open one included).
 * - Each server announces itself every second (`serverSideEmit`): its devices, their status,
 *   its recorder's status. A server not heard for `BUS_SILENCE_MS` (killed, cut off) has its
 *   devices shown disconnected by every other server; heard again, it is asked for its
 *   devices' state (status, session so far, calibration) for every client at once.
 * - A client connecting anywhere gets this server's welcome, and every other server sends
 *   its own devices' state to that client's room (socket.io rooms work across servers).
 * - A request for a device another server owns (`selectPreset`, `labelHold`, calibration,
 *   `mark`: any request naming a `deviceId`) is forwarded to the owner, found in the
 *   announcements, whose handlers (`requests.ts`) answer it; the answer comes back the same
 *   way and goes out through the client's own acknowledgement. socket.io's own
 *   `serverSideEmit` acknowledgement waits for every server and gives up after a fixed 5 s,
 *   shorter than a calibration capture may take: the owner answers with a message of its own.
 * - Trust: Redis must require a password (`redis://:PASSWORD@HOST:PORT`), and every message
 *   is signed with the clinic's bus key (`--bus-key`, `bus-signing.ts`): knowing Redis's
 *   password (it crosses the LAN in the clear) is not enough to forge or replay a request,
 *   a reading or a warning. A forwarded request is refused by the owner past a budget per
 *   forwarding server, as a client's is by its own server.
 * - Redis down: every server goes on alone (reading, alarming, recording, serving its own
 *   dashboards), its header says the bus is down, and the Redis client reconnects by itself.
 */
import { randomUUID } from 'node:crypto';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { createClient, type RedisClientType } from 'redis';
import type { Server, Socket } from 'socket.io';
import { busAnnouncementSchema, busReplySchema, busRequestSchema, busWelcomeSchema, type BusAnnouncement, type BusServer, type BusStatus } from '../contract/bus.ts';
import type { CalibrationState } from '../contract/calibration-events.ts';
import type { ClientToServerEvents, CommandReply, DeviceInfo, DeviceStatus, RecorderStatus, ServerToClientEvents, SessionSnapshot } from '../contract/live-events.ts';
import type { Logger } from '../log.ts';
import type { PipelineListener } from '../pipeline.ts';
import type { LiveBroadcaster, RemoteDevices } from './broadcaster.ts';
import { clientName, pairedOfSocket } from '../security/client-name.ts';
import { rateLimitMessage } from '../security/socket-guard.ts';
import { withoutPassword } from '../security/url-password.ts';
import { TokenBuckets, type TokenBucketLimits } from '../security/token-bucket.ts';
import { BusSigner, signingClient, type Refusal } from './bus-signing.ts';

type LiveServer = Server<ClientToServerEvents, ServerToClientEvents>;
type StreamsAdapter = ReturnType<ReturnType<typeof createAdapter>>;
type BroadcastOptions = Parameters<StreamsAdapter['broadcast']>[1];
type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents>;

/** How often each server announces itself. */
export const HEARTBEAT_MS = 1000;
/** A server not heard for this long shows its devices disconnected (under the 5 s a person would call "dead"). */
export const BUS_SILENCE_MS = 3000;
/** A forwarded request not answered within this is answered as such (a capture may wait 30 s for its load to settle). */
const REQUEST_TIMEOUT_MS = 45_000;
/** Commands the Redis client holds while its connection is down (beyond it, it refuses new ones: never the server's memory). */
const QUEUE_LIMIT = 10_000;
/** Requests another server may forward here: a few tablets' worth (each client is held to its own budget there too). */
export const BUS_REQUEST_LIMITS: TokenBucketLimits = { burst: 60, perSecond: 20 };
/** Redis errors repeat while it is down: log one per this long. */
const ERROR_LOG_INTERVAL_MS = 30_000;

const EVENT = { announce: 'knotmeter:announce', welcome: 'knotmeter:welcome', request: 'knotmeter:request', reply: 'knotmeter:reply' } as const;

/** What the bus needs of the rest of this server. */
export interface BusLocal {
  readonly broadcaster: LiveBroadcaster;
  sessions(): SessionSnapshot[];
  calibrations(): CalibrationState[];
  recorder(): RecorderStatus | null;
  /** Sends this server's clients the recorder status again (another server's changed). */
  recorderChanged(): void;
}

interface Peer {
  readonly server: BusServer;
  devices: DeviceInfo[];
  readonly statuses: Map<string, DeviceStatus>;
  recorder: RecorderStatus | null;
  heardAtMs: number;
  alive: boolean;
}

interface PendingRequest {
  readonly peer: Peer;
  readonly answer: (reply: CommandReply) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * The adapter publishes its pub/sub messages without handling a failed PUBLISH
 * (adapter.js `doPublish`): with Redis gone mid-command that rejection would end the
 * process. This client answers such a PUBLISH with "0 receivers" instead.
 */
function publishFailuresIgnored(client: RedisClientType): RedisClientType {
  return new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (property === 'publish' || property === 'sPublish') {
        return (...args: unknown[]) => (method.apply(target, args) as Promise<number>).catch(() => 0);
      }
      return method.bind(target);
    },
  });
}

function deviceIdOf(payload: unknown): string | null {
  const deviceId = (payload as { deviceId?: unknown } | null | undefined)?.deviceId;
  return typeof deviceId === 'string' ? deviceId : null;
}

export class LiveBus implements PipelineListener, RemoteDevices {
  /** This server on the bus: its name is set once it listens (`named`). */
  server: BusServer;
  readonly #io: LiveServer;
  readonly #local: BusLocal;
  readonly #logger: Logger;
  readonly #url: string;
  readonly #client: RedisClientType;
  readonly #peers = new Map<string, Peer>();
  readonly #pending = new Map<string, PendingRequest>();
  readonly #timer: NodeJS.Timeout;
  readonly #budget = new TokenBuckets(BUS_REQUEST_LIMITS);
  readonly #refusals = new Map<Refusal, number>();
  /** Refused since start, and as last shown to the clients (shown again at most every tick, never per message: a flood must not be amplified). */
  #refusedTotal = 0;
  #refusedShown = 0;
  #lastRefusalLogMs = -Infinity;
  #ready = false;
  #error: string | null = 'connecting to Redis';
  #lastErrorLogMs = -Infinity;
  #closed = false;

  /**
   * Joins `io` to the bus (before it serves any client); connects in the background and keeps reconnecting.
   * @param bus Redis's address (with its password) and the clinic's bus key
   */
  constructor(io: LiveServer, bus: { readonly url: string; readonly key: Buffer }, local: BusLocal, logger: Logger, name: string) {
    const { url } = bus;
    this.#io = io;
    this.#local = local;
    this.#logger = logger;
    this.#url = withoutPassword(url);
    this.server = { serverId: randomUUID(), name };
    const signer = new BusSigner(bus.key, this.server.serverId, (refusal) => this.#refused(refusal));
    this.#client = createClient({
      url,
      commandsQueueMaxLength: QUEUE_LIMIT,
      socket: { connectTimeout: 2000, reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 1000) },
    });
    this.#client.on('ready', () => this.#setReady(true, null));
    this.#client.on('error', (error: unknown) => this.#setReady(false, error instanceof Error ? error.message || error.name : String(error)));
    this.#client.on('end', () => this.#setReady(false, 'the connection to Redis closed'));
    this.#client.on('reconnecting', () => this.#setReady(false, this.#error ?? 'reconnecting to Redis'));
    const clustered = createAdapter(publishFailuresIgnored(signingClient(this.#client, signer)), { streamName: 'knotmeter:live', channelPrefix: 'knotmeter', onlyPlaintext: true, blockTimeInMs: 2000 });
    const localFirst = (adapter: StreamsAdapter): StreamsAdapter => this.#localFirst(adapter);
    // socket.io calls the factory with `new`: a function, not an arrow (it returns the adapter).
    io.adapter(function localFirstAdapter(namespace: unknown) {
      return localFirst(clustered(namespace));
    });
    io.on('connection', (socket) => this.#serve(socket));
    io.on(EVENT.announce, (announcement: unknown) => this.#onAnnounce(announcement));
    io.on(EVENT.welcome, (request: unknown) => this.#onWelcome(request));
    io.on(EVENT.request, (request: unknown) => this.#onRequest(request));
    io.on(EVENT.reply, (reply: unknown) => this.#onReply(reply));
    local.broadcaster.joinBus(this);
    this.#timer = setInterval(() => this.#tick(), HEARTBEAT_MS / 4);
    this.#client.connect().catch((error: unknown) => this.#setReady(false, error instanceof Error ? error.message : String(error)));
  }

  /**
   * socket.io's cluster adapter hands a broadcast to this server's clients only once Redis
   * has stored it, and while Redis is away that is never: an alarm must not wait for the bus.
   * Every broadcast goes to this server's clients at once, then (bus up) to the others',
   * published with this server's clients excluded; with the bus down it is not published
   * (readings are volatile; each server asks the others for their devices' state on rejoin).
   */
  #localFirst(adapter: StreamsAdapter): StreamsAdapter {
    const broadcast = adapter.broadcast.bind(adapter);
    adapter.broadcast = async (packet: unknown, options: BroadcastOptions): Promise<void> => {
      if (options.flags?.local === true) return broadcast(packet, options);
      void broadcast(packet, { ...options, flags: { ...options.flags, local: true } });
      if (!this.up || this.#closed) return;
      await broadcast(packet, { ...options, except: new Set([...(options.except ?? []), this.#serverRoom()]) });
    };
    return adapter;
  }

  /** Whether broadcasts reach the other servers now. */
  get up(): boolean {
    return this.#ready && this.#client.isReady;
  }

  status(): BusStatus {
    return {
      state: this.up ? 'up' : 'down',
      url: this.#url,
      error: this.up ? null : `${this.#error ?? 'Redis is unreachable'}: this server goes on alone (devices, alarms, recording) and rejoins when Redis is back`,
      servers: [...this.#peers.values()].filter((peer) => peer.alive).map((peer) => peer.server.name),
      refused: this.#refusedTotal,
    };
  }

  devices(): DeviceInfo[] {
    return [...this.#peers.values()].flatMap((peer) => peer.devices);
  }

  statuses(): DeviceStatus[] {
    return [...this.#peers.values()].flatMap((peer) => [...peer.statuses.values()].map((status) => (peer.alive ? status : this.#silent(peer, status))));
  }

  /** A client connected here: every other server sends its devices' state to it. */
  welcome(socket: LiveSocket): void {
    this.#emitToServers(EVENT.welcome, { room: socket.id, deviceIds: null, history: true });
  }

  /** The recorder status as this server's clients see it: its own, with the other servers' devices. */
  recorderShown(own: RecorderStatus): RecorderStatus {
    const ownIds = new Set(own.devices.map((device) => device.deviceId));
    const remote = [...this.#peers.values()].flatMap((peer) => peer.recorder?.devices ?? []).filter((device) => !ownIds.has(device.deviceId));
    return remote.length === 0 ? own : { ...own, devices: [...own.devices, ...remote] };
  }

  /** Names this server as people and logs see it (host name and port, once it listens). */
  named(name: string): void {
    this.server = { ...this.server, name };
  }

  /** This server's recorder changed: the others hear it now, not at the next heartbeat. */
  ownRecorderChanged(): void {
    this.#announce();
  }

  onInfo(): void {
    this.#announce();
  }

  onReadings(): void {
    return;
  }

  onEngineEvents(): void {
    return;
  }

  onStatus(): void {
    return;
  }

  onSession(): void {
    return;
  }

  /** Stops announcing and closes the Redis connection (after socket.io has closed its adapter). */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    for (const [requestId, pending] of this.#pending) this.#settle(requestId, { ok: false, error: 'the server is shutting down' }, pending);
    if (!this.#client.isOpen) return;
    // With Redis away a graceful close waits for a reconnection that may never come: drop the connection instead.
    if (this.#client.isReady) await this.#client.close().catch(() => this.#client.destroy());
    else this.#client.destroy();
  }

  #serve(socket: LiveSocket): void {
    socket.emit('bus', this.status());
    void socket.join(this.#serverRoom());
    // Registered after the security guards' (app.ts): a request refused there is never forwarded.
    socket.use((packet, next) => {
      const owner = this.#ownerOf(deviceIdOf(packet[1]));
      if (owner === null) {
        next();
        return;
      }
      const reply: unknown = packet.at(-1);
      const answer = (result: CommandReply): void => {
        if (typeof reply === 'function') (reply as (result: CommandReply) => void)(result);
      };
      const client = `${clientName({ address: socket.handshake.address, paired: pairedOfSocket(socket.data) })} via ${this.server.name}`;
      this.#forward(owner, packet[0], packet[1], client, answer);
    });
  }

  /** The other server that owns a device (null: this one, or no one known, answered here). */
  #ownerOf(deviceId: string | null): Peer | null {
    if (deviceId === null || this.#local.broadcaster.ownDevices().some((device) => device.deviceId === deviceId)) return null;
    return [...this.#peers.values()].find((peer) => peer.devices.some((device) => device.deviceId === deviceId)) ?? null;
  }

  #forward(owner: Peer, event: string, payload: unknown, client: string, answer: (reply: CommandReply) => void): void {
    const deviceId = deviceIdOf(payload) ?? '?';
    if (!this.up || !owner.alive) {
      answer({ ok: false, error: `${event}: device ${deviceId} is on server ${owner.server.name}, which cannot be reached now (${this.up ? 'not heard on the bus for a few seconds' : 'the bus, Redis, is down'}); try again once it is back` });
      return;
    }
    const requestId = randomUUID();
    const timer = setTimeout(() => {
      const pending = this.#pending.get(requestId);
      if (pending !== undefined) this.#settle(requestId, { ok: false, error: `${event}: server ${owner.server.name}, which has device ${deviceId}, did not answer within ${REQUEST_TIMEOUT_MS / 1000} s` }, pending);
    }, REQUEST_TIMEOUT_MS);
    this.#pending.set(requestId, { peer: owner, answer, timer });
    this.#emitToServers(EVENT.request, { to: owner.server.serverId, from: this.server.serverId, requestId, request: { to: owner.server.serverId, event, payload, client } });
  }

  #settle(requestId: string, reply: CommandReply, pending: PendingRequest): void {
    clearTimeout(pending.timer);
    this.#pending.delete(requestId);
    pending.answer(reply);
  }

  #onRequest(message: unknown): void {
    const envelope = message as { to?: unknown; from?: unknown; requestId?: unknown; request?: unknown } | null;
    if (envelope?.to !== this.server.serverId || typeof envelope.from !== 'string' || typeof envelope.requestId !== 'string') return;
    const request = busRequestSchema.safeParse(envelope.request);
    const { from, requestId } = envelope;
    const reply = (answer: CommandReply): void => this.#emitToServers(EVENT.reply, { to: from, requestId, reply: answer });
    if (!request.success) {
      reply({ ok: false, error: `a request forwarded by another server was not understood (${request.error.issues[0]?.message ?? 'invalid'}): are both servers the same version?` });
      return;
    }
    if (!this.#budget.take(from, performance.now())) {
      reply({ ok: false, error: rateLimitMessage(request.data.event, BUS_REQUEST_LIMITS, 'server forwarding requests') });
      return;
    }
    void this.#local.broadcaster.requests.dispatch(request.data.event, request.data.payload, request.data.client).then(reply);
  }

  #onReply(message: unknown): void {
    const envelope = message as { to?: unknown; requestId?: unknown; reply?: unknown } | null;
    if (envelope?.to !== this.server.serverId || typeof envelope.requestId !== 'string') return;
    const pending = this.#pending.get(envelope.requestId);
    const reply = busReplySchema.safeParse(envelope.reply);
    if (pending === undefined) return;
    this.#settle(envelope.requestId, reply.success && reply.data !== null ? reply.data : { ok: false, error: 'the answer of the server that owns the device was not understood' }, pending);
  }

  /** Sends a server-to-server message, unless Redis is away (an announcement then would only pile up). */
  #emitToServers(event: string, message: unknown): void {
    if (!this.up || this.#closed) return;
    this.#io.serverSideEmit(event, message);
  }

  #announce(): void {
    const local = this.#local.broadcaster;
    const announcement: BusAnnouncement = { ...this.server, devices: local.ownDevices(), statuses: local.ownStatuses(), recorder: this.#local.recorder() };
    this.#emitToServers(EVENT.announce, announcement);
  }

  #onAnnounce(message: unknown): void {
    const parsed = busAnnouncementSchema.safeParse(message);
    if (!parsed.success) {
      this.#logWarning(`an announcement on the bus was not understood (${parsed.error.issues[0]?.message ?? 'invalid'}): are all servers the same version?`);
      return;
    }
    const announcement = parsed.data;
    if (announcement.serverId === this.server.serverId) return;
    let peer = this.#peers.get(announcement.serverId);
    const known = new Set(peer?.devices.map((device) => device.deviceId) ?? []);
    const revived = peer !== undefined && !peer.alive;
    if (peer === undefined) {
      peer = { server: { serverId: announcement.serverId, name: announcement.name }, devices: [], statuses: new Map(), recorder: null, heardAtMs: 0, alive: true };
      this.#peers.set(announcement.serverId, peer);
      this.#logger.info({ server: announcement.name }, 'server joined the bus');
    }
    this.#claim(announcement);
    const devicesChanged = JSON.stringify(peer.devices) !== JSON.stringify(announcement.devices);
    const recorderChanged = JSON.stringify(peer.recorder) !== JSON.stringify(announcement.recorder);
    peer.devices = announcement.devices;
    peer.statuses.clear();
    for (const status of announcement.statuses) peer.statuses.set(status.deviceId, status);
    peer.recorder = announcement.recorder;
    peer.heardAtMs = performance.now();
    peer.alive = true;
    if (devicesChanged || revived) this.#local.broadcaster.devicesChanged();
    const added = announcement.devices.map((device) => device.deviceId).filter((deviceId) => !known.has(deviceId));
    // This server's clients need the state of devices they have not seen, and of a server back from silence.
    if (revived || added.length > 0) this.#emitToServers(EVENT.welcome, { room: this.#serverRoom(), deviceIds: revived ? null : added, history: !revived });
    if (recorderChanged) this.#local.recorderChanged();
    if (revived || known.size === 0) this.#busStatusChanged();
  }

  /** A restarted server announces devices a silent one had: they are the new one's now. */
  #claim(announcement: BusAnnouncement): void {
    const claimed = new Set(announcement.devices.map((device) => device.deviceId));
    for (const [serverId, peer] of this.#peers) {
      if (serverId === announcement.serverId || peer.alive) continue;
      peer.devices = peer.devices.filter((device) => !claimed.has(device.deviceId));
      if (peer.devices.length === 0) this.#peers.delete(serverId);
    }
  }

  #onWelcome(message: unknown): void {
    const parsed = busWelcomeSchema.safeParse(message);
    if (!parsed.success) return;
    const { room, deviceIds, history } = parsed.data;
    const wanted = (deviceId: string): boolean => deviceIds === null || deviceIds.includes(deviceId);
    const to = this.#io.to(room);
    const local = this.#local.broadcaster;
    for (const status of local.ownStatuses()) if (wanted(status.deviceId)) to.emit('status', status);
    for (const snapshot of this.#local.sessions()) if (wanted(snapshot.deviceId)) to.emit('session', snapshot);
    if (history) {
      const batches = local.history().filter((batch) => wanted(batch.deviceId));
      if (batches.length > 0) to.emit('history', batches);
    }
    for (const state of this.#local.calibrations()) if (wanted(state.deviceId)) to.emit('calibration', state);
  }

  /** The room every client of this server is in (another server sends them its devices' state at once). */
  #serverRoom(): string {
    return `knotmeter:server:${this.server.serverId}`;
  }

  #tick(): void {
    if (this.#closed) return;
    const nowMs = performance.now();
    if (nowMs - this.#lastAnnounceMs >= HEARTBEAT_MS) {
      this.#lastAnnounceMs = nowMs;
      this.#announce();
    }
    for (const peer of this.#peers.values()) if (peer.alive && nowMs - peer.heardAtMs > BUS_SILENCE_MS) this.#silence(peer);
    if (this.#refusedShown !== this.#refusedTotal) this.#busStatusChanged();
    this.#logRefusals();
  }

  #lastAnnounceMs = -Infinity;

  /** A server no longer heard: its devices show disconnected here, its pending requests are answered. */
  #silence(peer: Peer): void {
    peer.alive = false;
    this.#logger.warn({ server: peer.server.name }, 'server not heard on the bus: its devices show disconnected');
    for (const status of peer.statuses.values()) this.#io.local.emit('status', this.#silent(peer, status));
    for (const [requestId, pending] of this.#pending) {
      if (pending.peer === peer) this.#settle(requestId, { ok: false, error: `server ${peer.server.name}, which has the device, stopped answering on the bus` }, pending);
    }
    this.#busStatusChanged();
  }

  #silent(peer: Peer, status: DeviceStatus): DeviceStatus {
    return { ...status, state: 'disconnected', measuredRateHz: 0, lastError: `its server, ${peer.server.name}, is not heard on the bus (stopped, or cut off from Redis)` };
  }

  #setReady(ready: boolean, error: string | null): void {
    if (this.#closed) return;
    if (!ready && error !== null) this.#error = error;
    if (ready === this.#ready) {
      if (!ready && error !== null) this.#logWarning(`bus down: ${error}`);
      return;
    }
    this.#ready = ready;
    if (ready) {
      this.#error = null;
      this.#logger.info({ bus: this.#url, server: this.server.name }, 'bus up: joined to the other servers');
      this.#lastAnnounceMs = performance.now();
      this.#announce();
      // Back after an outage: the other servers' devices' state for every client here.
      this.#emitToServers(EVENT.welcome, { room: this.#serverRoom(), deviceIds: null, history: false });
    } else {
      this.#logWarning(`bus down (${error ?? 'Redis is unreachable'}): this server goes on alone and rejoins when Redis is back`);
      for (const peer of this.#peers.values()) if (peer.alive) this.#silence(peer);
    }
    this.#busStatusChanged();
  }

  #busStatusChanged(): void {
    this.#refusedShown = this.#refusedTotal;
    this.#io.local.emit('bus', this.status());
  }

  /** A message on the bus not signed with this clinic's key, or one seen before: dropped, counted, logged (at most one line per interval). */
  #refused(refusal: Refusal): void {
    this.#refusedTotal += 1;
    this.#refusals.set(refusal, (this.#refusals.get(refusal) ?? 0) + 1);
    this.#logRefusals();
  }

  /** Logs the refusals counted since the last line, once the interval has passed (the heartbeat's tick logs what a burst left). */
  #logRefusals(): void {
    const nowMs = performance.now();
    if (this.#refusals.size === 0 || nowMs - this.#lastRefusalLogMs < ERROR_LOG_INTERVAL_MS) return;
    this.#lastRefusalLogMs = nowMs;
    const counts = Object.fromEntries(this.#refusals);
    this.#refusals.clear();
    this.#logger.warn(
      { bus: this.#url, refused: counts },
      "messages on the bus refused (dropped, nothing done): not signed with this clinic's bus key (a machine with Redis's password but not the key, or a server started with another --bus-key), replayed, or stale (check the hosts' clocks)",
    );
  }

  #logWarning(message: string): void {
    const nowMs = performance.now();
    if (nowMs - this.#lastErrorLogMs < ERROR_LOG_INTERVAL_MS) return;
    this.#lastErrorLogMs = nowMs;
    this.#logger.warn({ bus: this.#url }, message);
  }
}
