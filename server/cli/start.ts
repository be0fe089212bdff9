/**
 * `npm start`: the server's command-line entry. Validates the flags (exit 2 on a
 * mistake, naming it), opens the recording, starts every device (a `--device` the
 * recording cannot serve, such as a replay of a session that does not exist, is a
 * mistake too), prints where the dashboard is, and on SIGINT/SIGTERM stops cleanly
 * (exit 0, `Knotmeter stopped.`); a second signal a second or more after the first forces
 * the exit (130).
 */
import { DeviceSpecError } from '../../device/device-spec.ts';
import { startServer, type RunningServer } from '../app.ts';
import { pairingBanner } from './pairing-banner.ts';
import { readBusKey } from '../security/bus-key.ts';
import { readTlsFiles, type TlsFiles } from '../security/tls.ts';
import { parseServerArgs, resolveEngineSettings, serverUsage, type ServerOptions } from './start-args.ts';
import { EXIT_USAGE, UsageError, versionText } from './support.ts';
import { ConfigError } from '../engine/presets.ts';
import type { EngineSettings } from '../pipeline.ts';
import { createLogger, type Logger } from '../log.ts';

/**
 * One Ctrl-C in a terminal reaches the server more than once: the terminal signals the
 * whole process group, and npm relays the signal to its script as well. Signals this
 * close to the first are that same Ctrl-C; a later one is someone insisting.
 */
const SAME_SIGNAL_MS = 1000;

/** A mistake on the command line (exit 2), as opposed to a failure to run. */
function isUsageMistake(error: unknown): error is Error {
  return error instanceof UsageError || error instanceof DeviceSpecError || error instanceof ConfigError;
}

function exitOnUsageMistake(error: unknown): void {
  if (!isUsageMistake(error)) return;
  process.stderr.write(`knotmeter: ${error.message}\n`);
  process.exit(EXIT_USAGE);
}

function parseOrExit(argv: readonly string[]): ServerOptions & { engine: EngineSettings } {
  try {
    const options = parseServerArgs(argv);
    if (options.help || options.version) {
      process.stdout.write(`${options.help ? serverUsage() : versionText()}\n`);
      process.exit(0);
    }
    return { ...options, engine: resolveEngineSettings(options) };
  } catch (error) {
    exitOnUsageMistake(error);
    throw error;
  }
}

/** Stops the server on SIGINT/SIGTERM, even one that arrives while it is still starting. */
function handleStopSignals(logger: Logger, server: Promise<RunningServer | null>): void {
  let firstSignalMs: number | null = null;
  const stop = (signal: NodeJS.Signals): void => {
    const nowMs = performance.now();
    if (firstSignalMs !== null) {
      if (nowMs - firstSignalMs < SAME_SIGNAL_MS) return;
      process.stderr.write('Knotmeter stopped without finishing its shutdown (second signal).\n');
      process.exit(130);
    }
    firstSignalMs = nowMs;
    logger.info({ signal }, 'shutting down');
    server
      .then((running) => running?.close())
      .then(
        () => {
          process.stderr.write('Knotmeter stopped.\n');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** Reads --tls-cert and --tls-key now, so a wrong file is a usage mistake (exit 2) before anything starts. */
function tlsOrExit(options: ServerOptions): TlsFiles | null {
  try {
    return options.tls === null ? null : readTlsFiles(options.tls.certFile, options.tls.keyFile);
  } catch (error) {
    exitOnUsageMistake(error);
    throw error;
  }
}

/** Reads --bus-key now, so a wrong key file is a usage mistake (exit 2) before anything starts. */
function busOrExit(options: ServerOptions): { url: string; key: Buffer } | null {
  try {
    return options.bus === null ? null : { url: options.bus.url, key: readBusKey(options.bus.keyFile) };
  } catch (error) {
    exitOnUsageMistake(error);
    throw error;
  }
}

async function main(): Promise<void> {
  const options = parseOrExit(process.argv.slice(2));
  const logger = createLogger(options.logLevel);
  const starting = startServer({ ...options, logger, tls: tlsOrExit(options), bus: busOrExit(options) });
  handleStopSignals(logger, starting.catch(() => null));
  let server: RunningServer;
  try {
    server = await starting;
  } catch (error) {
    exitOnUsageMistake(error);
    const reason = error instanceof Error ? error.message : String(error);
    const hint = /EADDRINUSE/.test(reason) ? ` (port ${options.port} is taken: pass --port with another port)` : '';
    process.stderr.write(`knotmeter: cannot start: ${reason}${hint}\n`);
    process.exit(1);
  }
  process.stdout.write(`Knotmeter dashboard: ${server.url}\n`);
  if (server.pairing !== null) process.stdout.write(pairingBanner(server.url, options.host, server.pairing.store));
}

await main();
