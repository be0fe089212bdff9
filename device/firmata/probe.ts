/**
 * Finding a Firmata board on a serial port, for the Firmata transport's auto-detect
 * (`--device firmata`): opens the port, asks REPORT_VERSION (0xF9) every 500 ms, and
 * waits for the board's `F9 major minor` (a board that resets on open announces it
 * unasked once booted). Nothing else on a port answers that: our firmware speaks text
 * lines at another speed.
 *
 *   const probe = await probeFirmata('/dev/ttyACM0', { baudRate: 57600 });
 *   probe.protocolVersion;   // "2.4", or null when nothing answered
 *
 * The port is closed again, or with `keepOpen` handed to the caller when a board answered
 * (the transport's handshake then runs on it: an Uno resets once per attach, not twice).
 */
import type { SerialPort } from 'serialport';
import { openSerialPort } from '../protocol/serial-link.ts';

/** An Uno resets when its port opens; StandardFirmata blinks its version on D13 (about 2 s) before it announces itself. */
export const DEFAULT_FIRMATA_PROBE_TIMEOUT_MS = 4000;
const REPORT_VERSION = 0xf9;
const ASK_INTERVAL_MS = 500;

export interface FirmataProbeResult {
  readonly path: string;
  /** The Firmata protocol version the board reported (e.g. `2.4`), or null if nothing answered. */
  readonly protocolVersion: string | null;
  /** Why the port could not be asked (it would not open, or closed), or null. */
  readonly error: string | null;
  /** With `keepOpen` and an answer: the open port (the caller owns it then). */
  readonly port: SerialPort | null;
}

/** Finds `F9 major minor` in the bytes so far (major 2 or 3: every Firmata since 2006). */
export function findReportVersion(bytes: Uint8Array): string | null {
  for (let index = 0; index + 2 < bytes.length; index++) {
    const major = bytes[index + 1] ?? 0xff;
    const minor = bytes[index + 2] ?? 0xff;
    if (bytes[index] === REPORT_VERSION && (major === 2 || major === 3) && minor < 0x80) return `${major}.${minor}`;
  }
  return null;
}

export async function probeFirmata(path: string, options: { baudRate: number; timeoutMs?: number; keepOpen?: boolean }): Promise<FirmataProbeResult> {
  let port: SerialPort;
  try {
    port = await openSerialPort(path, options.baudRate);
  } catch (error) {
    return { path, protocolVersion: null, error: error instanceof Error ? error.message : String(error), port: null };
  }
  let received = Buffer.alloc(0);
  const outcome = await new Promise<{ version: string | null; error: string | null }>((resolve) => {
    const ask = (): void => {
      if (port.isOpen) port.write(Buffer.of(REPORT_VERSION));
    };
    const finish = (result: { version: string | null; error: string | null }): void => {
      clearInterval(ticker);
      clearTimeout(timer);
      port.removeAllListeners('data');
      resolve(result);
    };
    const ticker = setInterval(ask, ASK_INTERVAL_MS);
    const timer = setTimeout(() => finish({ version: null, error: null }), options.timeoutMs ?? DEFAULT_FIRMATA_PROBE_TIMEOUT_MS);
    port.on('data', (chunk: Buffer) => {
      // Only the tail can still hold a split message; the rest was searched already.
      received = Buffer.concat([received.subarray(-2), chunk]);
      const version = findReportVersion(received);
      if (version !== null) finish({ version, error: null });
    });
    port.once('close', () => finish({ version: null, error: `${path} closed while it was asked for Firmata` }));
    port.on('error', (error) => finish({ version: null, error: `${path}: ${error.message}` }));
    ask();
  });
  // Its `error` listener stays: a port handed over must never emit an error nobody hears.
  port.removeAllListeners('close');
  if (options.keepOpen === true && outcome.version !== null && port.isOpen) return { path, protocolVersion: outcome.version, error: null, port };
  if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  return { path, protocolVersion: outcome.version, error: outcome.error, port: null };
}
