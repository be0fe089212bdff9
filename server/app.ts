/**
 * The server process, assembled: HTTP (the dashboard's files and the review API), the
 * live socket.io broadcaster, the recorder (`--db`), and one pipeline per `--device`.
 * `startServer` is what the CLI runs and what the integration tests start on an
 * ephemeral port.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import type { RequestListener, Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { CalibrationLive } from './live/calibration-channel.ts';
import { LiveMarks } from './live/marks.ts';
import { FileProfileStore, MemoryProfileStore, type ProfileStore } from '../calibration/store.ts';
import { createTransport, type CreatedTransport, type TransportContext } from '../device/registry.ts';
import { answerUnreadableRequest, apiRoutes } from './api/routes.ts';
import { pptDeviceOf } from './api/ppt-device.ts';
import { LiveBroadcaster } from './live/broadcaster.ts';
import { LiveBus } from './live/bus.ts';
import type { Logger } from './log.ts';
import { DevicePipeline, fanOut, type EngineSettings } from './pipeline.ts';
import { deviceLog } from './device-log.ts';
import type { RecorderStatus } from './contract/live-events.ts';
import { UsageError } from './errors.ts';
import { linkRecordingToLive } from './recording/live-link.ts';
import { knotPresetOnLabel } from './recording/knot-preset-on-label.ts';
import { openRecording, type Recording } from './recording/recording.ts';
import type { StoreTarget } from './recording/store-target.ts';
import { auditTrail } from './recording/audit-trail.ts';
import { replaySources } from './traces/replay-sources.ts';
import { AllowedHosts } from './security/hosts.ts';
import { guardHttp } from './security/http-guard.ts';
import { RefusalLog } from './security/refusal-log.ts';
import { allowRequestFor, limitSocketRequests, SOCKET_REQUEST_LIMITS } from './security/socket-guard.ts';
import { TokenBuckets } from './security/token-bucket.ts';
import { authApplies, PairingGate, registerPairingOff, type AuthMode } from './security/pairing-guard.ts';
import { PairingError, PairingStore } from './security/pairing.ts';
import { DeviceNames, DeviceNamesError } from './devices/names.ts';
import { renameRequests } from './devices/rename-request.ts';
import type { TlsFiles } from './security/tls.ts';

export const DASHBOARD_DIST = fileURLToPath(new URL('../dashboard/dist/', import.meta.url));

export interface StartOptions {
  readonly host: string;
  readonly port: number;
  readonly devices: readonly string[];
  /** `--device-id` per device, parallel to `devices` (null or absent: none given). */
  readonly deviceIds?: readonly (string | null)[];
  readonly seed: number | undefined;
  /** The engine's preset or config for every device (each may switch preset later). */
  readonly engine: EngineSettings;
  readonly logger: Logger;
  /** The SQLite file to record sessions in (`--db`); absent: nothing is recorded. */
  readonly db?: string;
  /** No press for this long (device time) ends a recorded session. */
  readonly sessionIdleMs?: number;
  /** `--speed`: how fast replays run (1 = as recorded, null = as fast as possible). */
  readonly replaySpeed?: number | null;
  /** `--data-dir`: calibration profiles are in its `calibration/`; absent: kept in memory only. */
  readonly dataDir?: string;
  /** `--allowed-host NAME`: names besides loopback, the bound address and this machine's that the server answers to. */
  readonly allowedHosts?: readonly string[];
  /** `--auth`: `auto` (default) pairs clients when bound beyond loopback, `always` on loopback too. */
  readonly auth?: AuthMode;
  /** `--tls-cert`/`--tls-key`, read and checked (readTlsFiles): serve HTTPS. */
  readonly tls?: TlsFiles | null;
  /** Where to record sessions (`--db FILE` or `--store URL`, read in cli/store-flags.ts); absent or null: in `db`, if given. */
  readonly store?: StoreTarget | null;
  /** `--bus redis://:PASSWORD@HOST:PORT` and the clinic's bus key (`--bus-key`, read): join the other servers on this Redis (absent or null: this server alone). */
  readonly bus?: { readonly url: string; readonly key: Buffer } | null;
  /** `--room NAME`: what people call this server's room, sent with each of its devices (absent or null: none). */
  readonly room?: string | null;
}

export interface RunningServer {
  /** e.g. `http://127.0.0.1:8080` */
  readonly url: string;
  readonly pipelines: readonly DevicePipeline[];
  /** The recorder and its store, when recording (`db` given). */
  readonly recording: Recording | null;
  /** Calibration profiles by device id. */
  readonly profiles: ProfileStore;
  /** The pairing gate, when clients must pair (see `authApplies`); its store makes codes. */
  readonly pairing: PairingGate | null;
  close(): Promise<void>;
}

/** Builds every transport first, so a bad `--device` fails before anything listens. */
export function createTransports(
  specs: readonly string[],
  seed: number | undefined,
  more: Omit<TransportContext, 'instance' | 'seed' | 'deviceId'> = {},
  deviceIds: readonly (string | null)[] = [],
): CreatedTransport[] {
  return specs.map((spec, instance) => createTransport(spec, { instance, seed, ...more, deviceId: deviceIds[instance] ?? undefined }));
}

/**
 * The calibration profiles: in memory, or in `--data-dir`'s calibration folder, made now
 * (a fresh clone, a new folder) because the server watches it for profiles saved by
 * `npm run calibrate`.
 * @throws UsageError when the folder cannot be made (a file in the way, no permission).
 */
function openProfiles(dataDir: string | undefined): ProfileStore {
  if (dataDir === undefined) return new MemoryProfileStore();
  const profiles = new FileProfileStore(dataDir);
  try {
    mkdirSync(profiles.location, { recursive: true });
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    const reason = code === 'EEXIST' || code === 'ENOTDIR' ? 'it, or a folder above it, is a file' : error instanceof Error ? error.message : String(error);
    throw new UsageError(`--data-dir ${dataDir}: cannot make the folder ${profiles.location} (${reason}): pass --data-dir with a folder you can write in`);
  }
  return profiles;
}

export async function startServer(options: StartOptions): Promise<RunningServer> {
  // First: a damaged pairing file stops the start with nothing left open.
  const pairing = authApplies(options.host, options.auth ?? 'auto') ? new PairingGate(openPairing(options.dataDir), { secure: (options.tls ?? null) !== null }) : null;
  const profiles = openProfiles(options.dataDir);
  const names = openNames(options.dataDir);
  let publishRecorderStatus: (status: RecorderStatus) => void = () => undefined;
  const recordIn: StoreTarget | null = options.store ?? (options.db === undefined ? null : { kind: 'sqlite', path: options.db });
  const recording =
    recordIn === null
      ? null
      : await openRecording({
          target: recordIn,
          logger: options.logger,
          onStatus: (status) => publishRecorderStatus(status),
          ...(options.sessionIdleMs === undefined ? {} : { sessionIdleMs: options.sessionIdleMs }),
        });
  let transports: CreatedTransport[];
  try {
    transports = createTransports(options.devices, options.seed, { replaySpeed: options.replaySpeed === undefined ? 1 : options.replaySpeed, recordings: replaySources(recording?.store ?? null) }, options.deviceIds);
  } catch (error) {
    await recording?.close();
    throw error;
  }
  const httpLogger: FastifyBaseLogger = options.logger.child({ part: 'http' });
  // forceCloseConnections: a browser's open connections (a response it has not read, a
  // request half sent) must not keep Ctrl-C from stopping the server.
  const tls = options.tls ?? null;
  // HTTPS through serverFactory keeps one server type: socket.io and the hooks see a node:http server either way.
  const http = Fastify({ loggerInstance: httpLogger, clientErrorHandler: answerUnreadableRequest, forceCloseConnections: true, ...(tls === null ? {} : { serverFactory: httpsServerFactory(tls) }) });
  const hosts = new AllowedHosts({ boundAddress: options.host, extraNames: options.allowedHosts ?? [] });
  const refusals = new RefusalLog(options.logger.child({ part: 'security' }));
  await guardHttp(http, hosts, refusals);
  pairing?.register(http);
  if (pairing === null) registerPairingOff(http);
  else pairing.registerApi(http);
  await registerDashboard(http, options.logger);
  const pipelines: DevicePipeline[] = [];
  // Into the database only while this server records in it (a second server on the file only reads it).
  const audit = auditTrail(() => (recording?.recorder == null ? null : recording.store), options.logger.child({ part: 'audit' }));
  const broadcaster = new LiveBroadcaster(http.server, {
    sessions: () => pipelines.map((pipeline) => pipeline.session()),
    selectPreset: ({ deviceId, preset }, client) => {
      const pipeline = pipelines.find((candidate) => candidate.info?.deviceId === deviceId);
      if (pipeline === undefined) throw new Error(`no device ${deviceId} on this server`);
      // The preset in force already: nothing changes, so nothing is restarted, broadcast or logged.
      const before = pipeline.info?.preset ?? null;
      if (before === preset) return;
      pipeline.selectPreset(preset);
      options.logger.info({ deviceId, preset }, 'preset selected');
      audit({ client, action: 'preset', deviceId, sessionId: null, before: { preset: before }, after: { preset } });
    },
  }, { allowRequest: pairing === null ? allowRequestFor(hosts, refusals) : pairing.allowRequest(allowRequestFor(hosts, refusals)) });
  limitSocketRequests(broadcaster.io, new TokenBuckets(SOCKET_REQUEST_LIMITS), refusals);
  pairing?.guardSockets(broadcaster.io);
  // After the guards: a request they refuse is never forwarded to another server.
  const bus = options.bus == null ? null : joinBus(options.bus, options, broadcaster, () => calibration, () => recording, () => pipelines, (status) => showRecorderStatus(status));
  const knotPresets = knotPresetOnLabel({ store: () => recording?.store ?? null, pipelines: () => pipelines, audit, logger: options.logger.child({ part: 'ppt' }) });
  const showRecorderStatus = linkRecordingToLive(broadcaster.io, broadcaster.requests, () => recording, (status) => bus?.recorderShown(status) ?? status, knotPresets);
  publishRecorderStatus = (status) => {
    showRecorderStatus(status);
    bus?.ownRecorderChanged();
  };
  // A profile that cannot be used is named now, and again on its device's panel (never skipped in silence).
  if (profiles instanceof FileProfileStore) for (const problem of profiles.problems()) options.logger.error(problem);
  const calibration = new CalibrationLive(broadcaster.io, broadcaster.requests, profiles, () => pipelines, options.logger.child({ part: 'calibration' }), audit);
  await http.register(
    apiRoutes({
      store: () => recording?.store ?? null,
      unavailableReason: () => (recording === null ? 'this server records nothing: start it with --db FILE' : `recorded sessions cannot be read: ${recording.status().error ?? 'unknown reason'}`),
      unwritableReason: () => (recording?.recorder == null ? `recorded sessions cannot be changed: ${recording?.status().error ?? 'this server records nothing'}; nothing changed` : null),
      isRecording: (sessionId) => recording?.recorder?.isRecording(sessionId) ?? false,
      audit,
      deviceName: (deviceId, transport) => names.displayName(deviceId, transport),
      pptDevice: (deviceId) => pptDeviceOf(pipelines.find((pipeline) => pipeline.info?.deviceId === deviceId)),
    }),
    { prefix: '/api' },
  );
  const terminal = deviceLog(options.logger.child({ part: 'device' }));
  const marks = new LiveMarks(broadcaster.io, () => pipelines);
  broadcaster.requests.on('mark', (payload, reply) => marks.answer(payload, reply));
  const listeners = [broadcaster, calibration, terminal, marks, ...(recording?.recorder == null ? [] : [recording.recorder]), ...(bus === null ? [] : [bus])];
  const listener = fanOut(...listeners);
  pipelines.push(...transports.map((created) => new DevicePipeline(created, options.engine, listener, profiles, names, options.room ?? null)));
  // Every request in one registry: one naming another server's device is answered by that server (live/bus.ts).
  broadcaster.requests.on('renameDevice', renameRequests({ names, pipelines: () => pipelines, audit }));

  const started: DevicePipeline[] = [];
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await Promise.all(started.map((pipeline) => pipeline.stop()));
      calibration.close();
      pairing?.close();
      profiles.close();
      await recording?.close();
      // socket.io's close waits for the HTTP server's, which waits for every open connection:
      // Fastify ends them as it closes (forceCloseConnections), so the two close together.
      await Promise.all([broadcaster.close(), http.close()]);
      await bus?.close();
    })();
    return closing;
  };
  let url: string;
  try {
    url = await http.listen({ host: options.host, port: options.port });
    // Fastify names the address from its own https option, which serverFactory bypasses.
    if (tls !== null) url = url.replace(/^http:/, 'https:');
    bus?.named(`${hostname()}:${new URL(url).port}`);
    for (const pipeline of pipelines) {
      await pipeline.start();
      started.push(pipeline);
      options.logger.info({ deviceId: pipeline.info?.deviceId, spec: pipeline.info?.spec }, 'device started');
    }
  } catch (error) {
    // A device that cannot start (a replay of a session that does not exist) or a port
    // that is taken: nothing is left running, the database is unlocked.
    await close();
    throw error;
  }
  return { url, pipelines, recording, profiles, pairing, close };
}

/** Joins the live stream to the other servers on `--bus` (see live/bus.ts). */
function joinBus(
  bus: { readonly url: string; readonly key: Buffer },
  options: StartOptions,
  broadcaster: LiveBroadcaster,
  calibration: () => CalibrationLive,
  recording: () => Recording | null,
  pipelines: () => readonly DevicePipeline[],
  showRecorderStatus: (status: RecorderStatus) => void,
): LiveBus {
  return new LiveBus(
    broadcaster.io,
    bus,
    {
      broadcaster,
      sessions: () => pipelines().map((pipeline) => pipeline.session()),
      calibrations: () => calibration().states(),
      recorder: () => recording()?.status() ?? null,
      recorderChanged: () => {
        const status = recording()?.status();
        if (status !== undefined) showRecorderStatus(status);
      },
    },
    options.logger.child({ part: 'bus' }),
    `${hostname()} (pid ${process.pid})`,
  );
}

/** A Node HTTPS server for Fastify's serverFactory, typed as the HTTP server it behaves as. */
function httpsServerFactory(tls: TlsFiles): (handler: RequestListener) => HttpServer {
  return (handler) => createHttpsServer({ cert: tls.cert, key: tls.key }, handler);
}

/**
 * Device names, in --data-dir's device-names.json (in memory without one).
 * @throws UsageError when the file is damaged (it names the file and what to do).
 */
function openNames(dataDir: string | undefined): DeviceNames {
  try {
    return DeviceNames.open(dataDir);
  } catch (error) {
    if (error instanceof DeviceNamesError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * Paired clients, in --data-dir's pairing.json (in memory without one, as in tests).
 * @throws UsageError when the file is damaged (it names the file and what to do).
 */
function openPairing(dataDir: string | undefined): PairingStore {
  try {
    return new PairingStore(dataDir === undefined ? null : join(dataDir, 'pairing.json'));
  } catch (error) {
    if (error instanceof PairingError) throw new UsageError(error.message);
    throw error;
  }
}

async function registerDashboard(http: FastifyInstance, logger: Logger): Promise<void> {
  if (existsSync(`${DASHBOARD_DIST}index.html`)) {
    await http.register(fastifyStatic, { root: DASHBOARD_DIST, maxAge: 0 });
    return;
  }
  logger.warn(`the dashboard is not built (${DASHBOARD_DIST}index.html is missing): run \`npm run build\``);
  http.get('/', (_request, reply) => reply.code(503).type('text/plain').send('The dashboard is not built: run `npm run build`, then reload.\n'));
}
