/**
 * `npm start`: the server's command-line entry. Validates the flags (exit 2 on a
 * mistake, naming it), starts the server, prints where the dashboard is, and shuts
 * down cleanly on SIGINT/SIGTERM (a second signal forces the exit).
 */
import { DeviceSpecError } from '../device/device-spec.ts';
import { createTransports, startServer } from './app.ts';
import { parseServerArgs, resolveEngineSettings, serverUsage, type ServerOptions } from './cli-args.ts';
import { EXIT_USAGE, UsageError } from './cli-support.ts';
import { ConfigError } from './engine/presets.ts';
import type { EngineSettings } from './pipeline.ts';
import { createLogger } from './log.ts';

function parseOrExit(argv: readonly string[]): ServerOptions & { engine: EngineSettings } {
  try {
    const options = parseServerArgs(argv);
    if (options.help) {
      process.stdout.write(`${serverUsage()}\n`);
      process.exit(0);
    }
    createTransports(options.devices, options.seed);
    return { ...options, engine: resolveEngineSettings(options) };
  } catch (error) {
    if (error instanceof UsageError || error instanceof DeviceSpecError || error instanceof ConfigError) {
      process.stderr.write(`knotmeter: ${error.message}\n`);
      process.exit(EXIT_USAGE);
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const options = parseOrExit(process.argv.slice(2));
  const logger = createLogger(options.logLevel);
  let server;
  try {
    server = await startServer({ ...options, logger });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const hint = /EADDRINUSE/.test(reason) ? ` (port ${options.port} is taken: pass --port with another port)` : '';
    process.stderr.write(`knotmeter: cannot start: ${reason}${hint}\n`);
    process.exit(1);
  }
  process.stdout.write(`Knotmeter dashboard: ${server.url}\n`);

  let signals = 0;
  const shutDown = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) process.exit(130);
    logger.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutDown);
  process.on('SIGTERM', shutDown);
}

await main();
