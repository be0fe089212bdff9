/**
 * The server process, assembled: HTTP (the dashboard's files), the live socket.io
 * broadcaster, and one pipeline per `--device`. `startServer` is what the CLI runs and
 * what the integration tests start on an ephemeral port.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createTransport, type CreatedTransport } from '../device/registry.ts';
import { LiveBroadcaster } from './live/broadcaster.ts';
import type { Logger } from './log.ts';
import { DevicePipeline, fanOut, type EngineSettings } from './pipeline.ts';

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
}

export interface RunningServer {
  /** e.g. `http://127.0.0.1:8080` */
  readonly url: string;
  readonly pipelines: readonly DevicePipeline[];
  close(): Promise<void>;
}

/** Builds every transport first, so a bad `--device` fails before anything listens. */
export function createTransports(specs: readonly string[], seed: number | undefined, deviceIds: readonly (string | null)[] = []): CreatedTransport[] {
  return specs.map((spec, instance) => createTransport(spec, { instance, seed, deviceId: deviceIds[instance] ?? undefined }));
}

export async function startServer(options: StartOptions): Promise<RunningServer> {
  const transports = createTransports(options.devices, options.seed, options.deviceIds);
  const httpLogger: FastifyBaseLogger = options.logger.child({ part: 'http' });
  const http = Fastify({ loggerInstance: httpLogger });
  await registerDashboard(http, options.logger);
  const pipelines: DevicePipeline[] = [];
  const broadcaster = new LiveBroadcaster(http.server, {
    sessions: () => pipelines.map((pipeline) => pipeline.session()),
    selectPreset: ({ deviceId, preset }) => {
      const pipeline = pipelines.find((candidate) => candidate.info?.deviceId === deviceId);
      if (pipeline === undefined) throw new Error(`no device ${deviceId} on this server`);
      pipeline.selectPreset(preset);
      options.logger.info({ deviceId, preset }, 'preset selected');
    },
  });
  const listener = fanOut(broadcaster);
  pipelines.push(...transports.map((created) => new DevicePipeline(created, options.engine, listener)));

  const url = await http.listen({ host: options.host, port: options.port });
  for (const pipeline of pipelines) {
    await pipeline.start();
    options.logger.info({ deviceId: pipeline.info?.deviceId, spec: pipeline.info?.spec }, 'device started');
  }

  let closing: Promise<void> | null = null;
  return {
    url,
    pipelines,
    close() {
      closing ??= (async () => {
        await Promise.all(pipelines.map((pipeline) => pipeline.stop()));
        await broadcaster.close();
        await http.close();
      })();
      return closing;
    },
  };
}

async function registerDashboard(http: FastifyInstance, logger: Logger): Promise<void> {
  if (existsSync(`${DASHBOARD_DIST}index.html`)) {
    await http.register(fastifyStatic, { root: DASHBOARD_DIST, maxAge: 0 });
    return;
  }
  logger.warn(`the dashboard is not built (${DASHBOARD_DIST}index.html is missing): run \`npm run build\``);
  http.get('/', (_request, reply) => reply.code(503).type('text/plain').send('The dashboard is not built: run `npm run build`, then reload.\n'));
}
