/**
 * One open connection to a Firmata board (StandardFirmata on an Uno, or in the emulator),
 * through johnny-five 2.1 and firmata-io 2.3 on the real serialport 13. It is where every
 * loosely typed johnny-five and firmata-io call lives: the Firmata transport (device/
 * transports/firmata.ts) sees only what this exports.
 *
 *   const link = await FirmataBoardLink.open({ path, baudRate: 57600, samplingIntervalMs: 10, readyTimeoutMs: 10_000 }, handlers);
 *   link.info.firmwareName;            // "StandardFirmata.ino"
 *   link.writeOutputs({ led: true, motorDuty: 192, buzzerDuty: 0 });
 *   await link.close();
 *
 * It handles johnny-five's traps (a Board with no error listener crashes the process, its
 * cache grows at every reconnect, ...): docs/design/firmata.md.
 */
import { EventEmitter } from 'node:events';
import { SerialPort } from 'serialport';
import type { Firmata, FirmataTransport } from 'firmata-io';
import { openSerialPort } from '../protocol/serial-link.ts';

/** The Uno pins the product uses (docs/hardware.md, "Reference wiring"): the thumb button on D2 to ground, as in the fsr build. */
export const FIRMATA_PINS = { sensorAnalog: 0, led: 13, motor: 6, buzzer: 9, thumbButton: 2 } as const;

/** How long closing waits for the last writes (outputs off) to leave. */
const DRAIN_TIMEOUT_MS = 500;

/** StandardFirmata's baud rate (Firmata.begin(57600) in the sketch). */
export const FIRMATA_DEFAULT_BAUD_RATE = 57_600;

export interface FirmataBoardInfo {
  /** The sketch, as the board reports it (REPORT_FIRMWARE), e.g. `StandardFirmata.ino`. */
  readonly firmwareName: string;
  /** The sketch's version, e.g. `2.4`. */
  readonly firmwareVersion: string;
  /** The Firmata protocol version (REPORT_VERSION), e.g. `2.4`. */
  readonly protocolVersion: string;
}

/** What the outputs should show: the LED on or off, the motor's and the buzzer's PWM duty (0 = off, 255 = full). */
export interface FirmataOutputs {
  readonly led: boolean;
  readonly motorDuty: number;
  readonly buzzerDuty: number;
}

export interface FirmataBoardLinkOptions {
  readonly path: string;
  readonly baudRate: number;
  /** How often the board reports A0 (Firmata's sampling interval), whole ms. */
  readonly samplingIntervalMs: number;
  /** How long the board has, once its port is open, to answer Firmata's handshake. */
  readonly readyTimeoutMs: number;
  /**
   * Ask for the version if the board has not announced itself within this many ms of the
   * open (an Uno announces itself after the reset the open causes; a board without that
   * reset, or one probed before, has to be asked). Default 1000.
   */
  readonly askVersionAfterMs?: number;
  /** The port already open at `baudRate` (handed over by the auto-detect probe, so an Uno is not reset twice); opened here if absent. */
  readonly port?: SerialPort;
}

export interface FirmataBoardLinkHandlers {
  /** A0's value (0..1023) from one report of the board, as it arrives. */
  onAnalog(valueRaw: number): void;
  /** The board announced itself again, unasked, after the handshake: it restarted (pins and reporting are back to defaults). */
  onReboot(): void;
  /** The connection failed after the handshake (unplug, a read or write error); reported once. */
  onLost(reason: string): void;
  /** The thumb button's pin (D2) at each report of its port, not debounced: `down` when it reads low. */
  onButton?(down: boolean): void;
}

/** The board never completed Firmata's handshake in time. */
export class FirmataTimeoutError extends Error {
  override readonly name = 'FirmataTimeoutError';
}

/** The part of johnny-five's Board (and its internals) this module touches. */
interface JohnnyFiveBoard {
  on(event: 'ready', listener: () => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  removeAllListeners(event?: string): unknown;
  /** The connect timeout's timer (johnny-five sets it when the port opens, clears it on ready). */
  timer: NodeJS.Timeout | null;
}
interface JohnnyFiveModule {
  readonly Board: {
    new (options: { io: Firmata; repl: false; debug: false; sigint: false; timeout: number }): JohnnyFiveBoard;
    /** Every Board ever made (johnny-five's `boards`, the array itself). */
    readonly cache: JohnnyFiveBoard[];
  };
}

let libraries: Promise<{ five: JohnnyFiveModule; FirmataClass: typeof Firmata }> | null = null;

/** johnny-five loads all its components: only when a Firmata board is used, and once. */
function loadLibraries(): Promise<{ five: JohnnyFiveModule; FirmataClass: typeof Firmata }> {
  libraries ??= Promise.all([import('johnny-five'), import('firmata-io')]).then(([five, firmataIo]) => ({
    five: five.default as unknown as JohnnyFiveModule,
    FirmataClass: firmataIo.default.Firmata,
  }));
  return libraries;
}

/**
 * The open port as Firmata's transport. Data flows, and `open` is emitted, only once
 * `announceOpen()` is called, after Firmata and the Board have subscribed: the port is
 * already open by then, and a Board that never hears `open` never becomes ready.
 */
class PortAdapter extends EventEmitter implements FirmataTransport {
  readonly #port: SerialPort;

  constructor(port: SerialPort) {
    super();
    this.#port = port;
  }

  announceOpen(): void {
    this.#port.on('data', (chunk: Buffer) => this.emit('data', chunk));
    this.emit('open');
  }

  write(data: Buffer, callback?: (error?: Error | null) => void): boolean {
    return this.#port.write(data, (error) => callback?.(error ?? null));
  }
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  // johnny-five also emits its log records ({ class, message }) as `error`.
  if (typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string') return error.message;
  return String(error);
}

function closePort(port: SerialPort): Promise<void> {
  return new Promise((resolve) => {
    if (!port.isOpen) {
      resolve();
      return;
    }
    port.close(() => resolve());
  });
}

export class FirmataBoardLink {
  readonly path: string;
  readonly info: FirmataBoardInfo;
  readonly #port: SerialPort;
  readonly #io: Firmata;
  readonly #board: JohnnyFiveBoard;
  readonly #five: JohnnyFiveModule;
  readonly #handlers: FirmataBoardLinkHandlers;
  #outputs: FirmataOutputs | null = null;
  #closed = false;

  private constructor(path: string, port: SerialPort, io: Firmata, board: JohnnyFiveBoard, five: JohnnyFiveModule, handlers: FirmataBoardLinkHandlers) {
    this.path = path;
    this.#port = port;
    this.#io = io;
    this.#board = board;
    this.#five = five;
    this.#handlers = handlers;
    this.info = {
      firmwareName: io.firmware.name ?? 'Firmata',
      firmwareVersion: io.firmware.version === undefined ? '?' : `${io.firmware.version.major}.${io.firmware.version.minor}`,
      protocolVersion: `${io.version.major ?? '?'}.${io.version.minor ?? '?'}`,
    };
  }

  /**
   * Opens the port, completes Firmata's handshake (version, firmware, capabilities,
   * analog mapping), sets up the pins and starts A0's reports. Rejects with a message that
   * names the port and what to do: it would not open, or no Firmata answered in time.
   */
  static async open(options: FirmataBoardLinkOptions, handlers: FirmataBoardLinkHandlers): Promise<FirmataBoardLink> {
    const { five, FirmataClass } = await loadLibraries();
    const port = options.port ?? (await openSerialPort(options.path, options.baudRate));
    const adapter = new PortAdapter(port);
    const io = new FirmataClass(adapter, { reportVersionTimeout: options.askVersionAfterMs ?? 1000 });
    // Until the Board exists, and for good after a failure: an unhandled `error` would crash.
    io.on('error', () => undefined);
    // Firmata's handshake waits for the firmware's name once it has the version. A board
    // announces both when it boots, but one that was asked its version (the auto-detect
    // probe) answers only that: asked here, the handshake never waits on a name not coming.
    io.once('reportversion', () => io.queryFirmware(() => undefined));
    const board = new five.Board({ io, repl: false, debug: false, sigint: false, timeout: options.readyTimeoutMs });
    const link = await new Promise<FirmataBoardLink>((resolve, reject) => {
      let settled = false;
      const fail = (reason: string, timeout: boolean): void => {
        if (settled) return;
        settled = true;
        port.removeAllListeners('close');
        discardBoard(five, board);
        void closePort(port).then(() => reject(timeout ? new FirmataTimeoutError(reason) : new Error(reason)));
      };
      board.on('error', (error) => {
        const message = messageOf(error);
        if (/timeout/i.test(message)) {
          fail(
            `${options.path} is open but no Firmata board answered within ${options.readyTimeoutMs} ms at ${options.baudRate} baud: ` +
              'is StandardFirmata on the board (Arduino IDE: File > Examples > Firmata > StandardFirmata)? ' +
              'A board running the Knotmeter firmware is `--device serial`; a Firmata sketch built for another speed needs ?baud=N',
            true,
          );
        } else {
          fail(`Firmata board on ${options.path}: ${message}`, false);
        }
      });
      port.once('close', () => fail(`${options.path} closed during Firmata's handshake (unplugged?)`, false));
      port.on('error', (error) => fail(`${options.path}: ${error.message}`, false));
      board.on('ready', () => {
        if (settled) return;
        settled = true;
        port.removeAllListeners('close');
        const opened = new FirmataBoardLink(options.path, port, io, board, five, handlers);
        opened.#watch();
        resolve(opened);
      });
      adapter.announceOpen();
    });
    link.configure(options.samplingIntervalMs);
    return link;
  }

  /** Writes not yet passed to the operating system. */
  get pendingWrites(): number {
    return this.#io.pending;
  }

  /**
   * Pin modes (D13 output, D6 and D9 PWM), the sampling interval and A0's reports, then
   * the outputs last asked for: after the handshake, and again after the board restarted.
   */
  configure(samplingIntervalMs: number): void {
    if (this.#closed) return;
    const io = this.#io;
    io.pinMode(FIRMATA_PINS.led, io.MODES.OUTPUT);
    io.pinMode(FIRMATA_PINS.motor, io.MODES.PWM);
    io.pinMode(FIRMATA_PINS.buzzer, io.MODES.PWM);
    io.setSamplingInterval(samplingIntervalMs);
    io.removeAllListeners(`analog-read-${FIRMATA_PINS.sensorAnalog}`);
    io.analogRead(FIRMATA_PINS.sensorAnalog, (value) => this.#handlers.onAnalog(value));
    this.#readThumbButton();
    const outputs = this.#outputs;
    this.#outputs = null;
    this.writeOutputs(outputs ?? { led: false, motorDuty: 0, buzzerDuty: 0 });
  }

  /**
   * D2 as an input with its pull-up, reported on every change of its port. Firmata 2.5 on
   * has a pull-up mode; before it (StandardFirmata 2.4, as avrgirl-arduino ships it) a 1
   * written to an input pin turns the pull-up on, as on the Arduino of its day.
   */
  #readThumbButton(): void {
    const io = this.#io;
    const pin = FIRMATA_PINS.thumbButton;
    if (io.pins[pin]?.supportedModes.includes(io.MODES.PULLUP) === true) {
      io.pinMode(pin, io.MODES.PULLUP);
    } else {
      io.pinMode(pin, io.MODES.INPUT);
      io.digitalWrite(pin, 1);
    }
    io.removeAllListeners(`digital-read-${pin}`);
    io.digitalRead(pin, (value) => this.#handlers.onButton?.(value === 0));
  }

  /** Sets D13, D6 and D9; only what changed is sent. */
  writeOutputs(outputs: FirmataOutputs): void {
    if (this.#closed) return;
    const previous = this.#outputs;
    this.#outputs = outputs;
    if (previous?.led !== outputs.led) this.#io.digitalWrite(FIRMATA_PINS.led, outputs.led ? 1 : 0);
    if (previous?.motorDuty !== outputs.motorDuty) this.#io.pwmWrite(FIRMATA_PINS.motor, outputs.motorDuty);
    if (previous?.buzzerDuty !== outputs.buzzerDuty) this.#io.pwmWrite(FIRMATA_PINS.buzzer, outputs.buzzerDuty);
  }

  /**
   * Turns the outputs off (a host that lets go must not leave the buzzer sounding), stops
   * A0's reports, waits for those writes to leave, and closes the port. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#port.isOpen) {
      this.writeOutputs({ led: false, motorDuty: 0, buzzerDuty: 0 });
      this.#io.reportAnalogPin(FIRMATA_PINS.sensorAnalog, 0);
      // Bounded: a port whose other end is gone may never report drained, and stopping must not hang.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, DRAIN_TIMEOUT_MS);
        this.#port.drain(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.#closed = true;
    this.#detach();
    await closePort(this.#port);
  }

  #watch(): void {
    let lost = false;
    const onLost = (reason: string): void => {
      if (lost || this.#closed) return;
      lost = true;
      this.#closed = true;
      this.#detach();
      void closePort(this.#port);
      this.#handlers.onLost(reason);
    };
    this.#port.once('close', (error: unknown) => {
      const disconnected = typeof error === 'object' && error !== null && 'disconnected' in error && error.disconnected === true;
      onLost(disconnected ? `${this.path} disconnected (unplugged?)` : `${this.path} closed`);
    });
    this.#port.on('error', (error) => onLost(`${this.path}: ${error.message}`));
    this.#board.on('error', (error) => onLost(`Firmata board on ${this.path}: ${messageOf(error)}`));
    // A board announces its version at boot: heard after the handshake, it restarted.
    this.#io.on('reportversion', () => {
      if (!this.#closed) this.#handlers.onReboot();
    });
  }

  #detach(): void {
    this.#io.removeAllListeners(`analog-read-${FIRMATA_PINS.sensorAnalog}`);
    this.#io.removeAllListeners(`digital-read-${FIRMATA_PINS.thumbButton}`);
    this.#io.removeAllListeners('reportversion');
    this.#port.removeAllListeners('data');
    discardBoard(this.#five, this.#board);
  }
}

/** Leaves a Board harmless: no pending connect timeout, out of johnny-five's cache, errors swallowed. */
function discardBoard(five: JohnnyFiveModule, board: JohnnyFiveBoard): void {
  if (board.timer !== null) clearTimeout(board.timer);
  board.timer = null;
  board.removeAllListeners('ready');
  board.removeAllListeners('error');
  board.on('error', () => undefined);
  const index = five.Board.cache.indexOf(board);
  if (index !== -1) five.Board.cache.splice(index, 1);
}
