/**
 * Bytes from a device -> typed messages: the line guard, then
 * `@serialport/parser-readline`, then the codec, wired once so that the serial link, the
 * port probe and the bench all read a device the same way. Every line ends as exactly
 * one message or one drop reason.
 *
 *   const reader = new DeviceLineReader({ onMessage: (message) => ..., onDrop: (reason) => ... });
 *   port.pipe(reader.input);
 *   reader.sensor = 'fsr'; // once HELLO has said so: raw values are then checked against it
 */
import type { Writable } from 'node:stream';
import { ReadlineParser } from '@serialport/parser-readline';
import type { SensorKind } from '../transport.ts';
import { decodeDeviceLine, type DeviceMessage } from './device-messages.ts';
import type { DropReason } from './drop-reasons.ts';
import { LineGuard } from './line-guard.ts';

export interface DeviceLineHandlers {
  onMessage(message: DeviceMessage): void;
  onDrop(reason: DropReason): void;
}

export class DeviceLineReader {
  /** Write the device's bytes here (or pipe the port into it). */
  readonly input: Writable;
  /** The device's sensor kind once known; it bounds raw values. */
  sensor: SensorKind | null = null;
  readonly #lines: ReadlineParser;

  constructor(handlers: DeviceLineHandlers) {
    // An empty line is not `$BODY*HH` either: the codec would call it a framing error.
    const guard = new LineGuard({ onDrop: (reason) => handlers.onDrop(reason === 'empty' ? 'framing' : reason) });
    // latin1: one character per byte, so a high byte stays visible to the codec (as a
    // non-printable character) instead of becoming U+FFFD or merging with its neighbours.
    this.#lines = new ReadlineParser({ delimiter: '\n', encoding: 'latin1' });
    this.#lines.on('data', (line: string) => {
      const result = decodeDeviceLine(line, this.sensor);
      if (result.ok) handlers.onMessage(result.message);
      else handlers.onDrop(result.reason);
    });
    guard.pipe(this.#lines);
    this.input = guard;
  }
}
