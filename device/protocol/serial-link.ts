/**
 * One open serial port to a device, through the real `serialport` bindings: bytes in go
 * through the device line reader (guard, readline, codec), framed lines go out. It knows
 * nothing of sessions or retries; the serial transport and the port probe build on it.
 * An unexpected close (unplug, the pty's other end gone, a read or write error) is
 * reported once through `onClose`; a close asked for with `close()` is not.
 *
 *   const link = await SerialLink.open('/dev/ttyACM0', 115200, { onMessage, onDrop, onClose });
 *   link.write('$INFO*0E\n');
 *   await link.close();
 */
import { SerialPort } from 'serialport';
import type { DeviceMessage } from './device-messages.ts';
import type { DropReason } from './drop-reasons.ts';
import { DeviceLineReader } from './line-reader.ts';

export const DEFAULT_BAUD_RATE = 115_200;

export interface SerialLinkHandlers {
  onMessage(message: DeviceMessage): void;
  onDrop(reason: DropReason): void;
  /** The port closed without being asked to; `reason` says why, for `lastError`. */
  onClose(reason: string): void;
}

/** Why a port would not open, with what to do about it. */
export function describeOpenError(path: string, baudRate: number, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  let hint = '';
  if (/ENOENT|No such file/i.test(message)) hint = ': no such port (is the massager plugged in? `npm run ports` lists the ports)';
  else if (/EACCES|Permission denied/i.test(message)) hint = ': permission denied (add your user to the dialout group, then log in again)';
  else if (/EBUSY|lock|Resource temporarily unavailable/i.test(message)) hint = ': the port is in use by another program';
  return `cannot open ${path} at ${baudRate} baud: ${message}${hint}`;
}

/** Opens a port through the real bindings; rejects with a message that names the port and what to do. */
export function openSerialPort(path: string, baudRate: number): Promise<SerialPort> {
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  return new Promise((resolve, reject) => {
    port.open((error) => (error ? reject(new Error(describeOpenError(path, baudRate, error))) : resolve(port)));
  });
}

export class SerialLink {
  readonly path: string;
  readonly baudRate: number;
  readonly #port: SerialPort;
  readonly #reader: DeviceLineReader;
  readonly #current: { handlers: SerialLinkHandlers };
  #closing: Promise<void> | null = null;
  #closed = false;

  private constructor(port: SerialPort, reader: DeviceLineReader, current: { handlers: SerialLinkHandlers }, path: string, baudRate: number) {
    this.#port = port;
    this.#reader = reader;
    this.#current = current;
    this.path = path;
    this.baudRate = baudRate;
  }

  /** Opens the port; rejects with a message that names the port and what to do. */
  static async open(path: string, baudRate: number, handlers: SerialLinkHandlers): Promise<SerialLink> {
    const port = await openSerialPort(path, baudRate);
    // The reader calls whoever owns the link at the time (see setHandlers).
    const current = { handlers };
    const reader = new DeviceLineReader({ onMessage: (message) => current.handlers.onMessage(message), onDrop: (reason) => current.handlers.onDrop(reason) });
    const opened = new SerialLink(port, reader, current, path, baudRate);
    port.on('data', (chunk: Buffer) => {
      if (!opened.#closed) reader.input.write(chunk);
    });
    port.on('error', (portError: Error) => opened.#lost(`serial port error on ${path}: ${portError.message}`));
    port.on('close', (closeError: Error | null) => {
      const why = closeError === null ? 'the port closed' : closeError.message;
      opened.#lost(`lost ${path}: ${why}`);
    });
    return opened;
  }

  /** Hands the link to a new owner (the port probe passes a found device to the transport). */
  setHandlers(handlers: SerialLinkHandlers): void {
    this.#current.handlers = handlers;
  }

  /** The device's sensor kind once known: raw values are then checked against its range. */
  set sensor(sensor: DeviceLineReader['sensor']) {
    this.#reader.sensor = sensor;
  }

  get isOpen(): boolean {
    return !this.#closed && this.#port.isOpen;
  }

  /** Queues a framed line (with its `\n`) for the device; throws once the link is closed. */
  write(line: string): void {
    if (!this.isOpen) throw new Error(`${this.path} is not open`);
    this.#port.write(line, 'latin1');
  }

  /** Closes the port (idempotent); `onClose` is not called for it. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= new Promise((resolve) => {
      this.#reader.input.end();
      if (!this.#port.isOpen) {
        resolve();
        return;
      }
      this.#port.close(() => resolve());
    });
    return this.#closing;
  }

  #lost(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reader.input.end();
    if (this.#port.isOpen) this.#port.close(() => undefined);
    this.#current.handlers.onClose(reason);
  }
}
