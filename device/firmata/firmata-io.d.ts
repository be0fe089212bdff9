/**
 * Types for `firmata-io` 2.3.0 (it ships none): only the part of its `Firmata` class that
 * device/firmata/board-link.ts uses. The Firmata protocol client under johnny-five: it
 * parses the board's MIDI-style messages and writes pin commands to a transport (any
 * event emitter with `write`; here a serialport 13 port behind an adapter).
 */
declare module 'firmata-io' {
  import type { EventEmitter } from 'node:events';

  /** What Firmata needs of a transport: `data`, `open`, `close` and `error` events, and `write`. */
  export interface FirmataTransport extends EventEmitter {
    write(data: Buffer, callback?: (error?: Error | null) => void): unknown;
  }

  export interface FirmataOptions {
    /** Ask for the version when the board has not announced itself within this many ms (default 5000). */
    readonly reportVersionTimeout?: number;
    /** Sent to the board once it is ready (ms between analog reports). */
    readonly samplingInterval?: number;
  }

  export interface FirmataVersion {
    readonly major: number;
    readonly minor: number;
  }

  export class Firmata extends EventEmitter {
    constructor(transport: FirmataTransport, options?: FirmataOptions);
    readonly isReady: boolean;
    readonly MODES: { readonly INPUT: number; readonly OUTPUT: number; readonly ANALOG: number; readonly PWM: number; readonly PULLUP: number };
    /** Each pin's capabilities (CAPABILITY_RESPONSE), indexed by pin number. */
    readonly pins: readonly { readonly supportedModes: readonly number[] }[];
    /** The Firmata protocol version (REPORT_VERSION), empty until the board has reported it. */
    readonly version: Partial<FirmataVersion>;
    /** The sketch's name and version (REPORT_FIRMWARE), empty until reported. */
    readonly firmware: { readonly name?: string; readonly version?: FirmataVersion };
    readonly analogPins: readonly number[];
    /** Writes handed to the transport whose callback has not run yet. */
    readonly pending: number;
    analogRead(analogPin: number, callback: (value: number) => void): void;
    /** Turns on reports of the pin's port and calls back with the pin's level (0 or 1) at each. */
    digitalRead(pin: number, callback: (value: number) => void): void;
    reportAnalogPin(analogPin: number, value: 0 | 1): void;
    pinMode(pin: number, mode: number): void;
    digitalWrite(pin: number, value: 0 | 1): void;
    pwmWrite(pin: number, value: number): void;
    setSamplingInterval(intervalMs: number): void;
    /** Asks for REPORT_FIRMWARE (the handshake waits for it once the version is known). */
    queryFirmware(callback: () => void): void;
  }

  const bindTransport: { readonly Firmata: typeof Firmata };
  export default bindTransport;
}
