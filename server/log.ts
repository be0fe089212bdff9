/**
 * The server's logger: pino, JSON lines on stderr (for machines), pretty-printed when a
 * person is watching a terminal. stdout is kept for what the CLI prints on purpose.
 */
import { pino, type Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(level: LogLevel): Logger {
  if (process.stderr.isTTY) {
    return pino({ level, transport: { target: 'pino-pretty', options: { destination: 2, ignore: 'pid,hostname' } } });
  }
  return pino({ level }, pino.destination(2));
}

export type { Logger };
