/**
 * The real firmware in the emulator, seen from a host: builds the two hex files (`make -C
 * device/firmware`, under the firmware's own build lock), starts the simavr harness on one,
 * opens its pseudo-terminal with the real `serialport` and reads every line through the
 * project's host-side protocol code (device/protocol: the bounded line guard, readline,
 * the framing check and the device message codec), keeping them all in a log that tests
 * search from a cursor. Commands go out framed by the same code (checksums computed).
 *
 *   const device = await EmulatedFirmware.start({ sensor: 'fsr' });   // resolves on the boot HELLO
 *   const reply = await device.command('RATE,370');                     // the ACK/NAK/HELLO it caused
 *   const samples = await device.samples(device.cursor(), 100);         // the next 100 S lines
 *   await device.close();
 *
 * Everything measured here is measured in emulated time (the harness's clock, the
 * firmware's own t_us); wall-clock limits are only generous timeouts.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ReadlineParser } from '@serialport/parser-readline';
import { SerialPort } from 'serialport';
import { Emulator, pinChangeOf, type EmulatorEvent, type EmulatorOptions, type PinChange } from '../../../../../device/emulator/emulator.ts';
import { decodeDeviceLine, SEQ_MODULUS, type DeviceMessage, type HelloMessage, type SampleMessage } from '../../../../../device/protocol/device-messages.ts';
import type { DropReason } from '../../../../../device/protocol/drop-reasons.ts';
import { frame, MAX_LINE_BYTES, unframe } from '../../../../../device/protocol/framing.ts';
import { NAK_REASONS } from '../../../../../device/protocol/host-commands.ts';
import { LineGuard } from '../../../../../device/protocol/line-guard.ts';
import type { SensorKind } from '../../../../../device/transport.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', '..');
const FIRMWARE_DIR = join(ROOT, 'device', 'firmware');
/** The default build's link (device/PROTOCOL.md): 115200 nominal, 117647 on the wire. */
export const FIRMWARE_BAUD_RATE = 115_200;
/** Longest sample line with its `\n` (device/PROTOCOL.md): fsr 28, hx711 32 bytes. */
export const LONGEST_SAMPLE_LINE_BYTES: Record<SensorKind, number> = { fsr: 28, hx711: 32 };
/** Default sample rate after boot (device/PROTOCOL.md). */
export const DEFAULT_RATE_HZ: Record<SensorKind, number> = { fsr: 100, hx711: 80 };

export function firmwareHexPath(sensor: SensorKind): string {
  return join(FIRMWARE_DIR, 'build', `knotmeter-${sensor}.hex`);
}

let building: Promise<void> | null = null;

/** `make -C device/firmware` once per process (a no-op when the hex files are up to date). */
export function buildFirmware(): Promise<void> {
  building ??= new Promise<void>((resolve, reject) => {
    const child = spawn('make', ['-s', '-C', FIRMWARE_DIR], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`make -C device/firmware exited with ${code}:\n${output}`))));
  });
  const attempt = building;
  attempt.catch(() => {
    if (building === attempt) building = null;
  });
  return attempt;
}

/** One line from the device, as the host received it. */
export interface DeviceLine {
  /** Position in the session's log: 0 is the first line after the port opened. */
  readonly index: number;
  /** The line without its `\n`, one character per byte (latin1). */
  readonly text: string;
  /** The body's fields (`$NAK,HELP,unknown*3D` -> NAK, HELP, unknown); empty when the framing is bad. */
  readonly fields: readonly string[];
  /** The typed message from the host's codec, or null where the codec drops the line. */
  readonly message: DeviceMessage | null;
  /** Why the codec dropped it (null when it did not). */
  readonly dropReason: DropReason | null;
  /**
   * For a dropped line, what the codec reads from its last `$` on, if anything: a reset cuts
   * the line on the wire short, and the boot HELLO then follows the cut-off start on one line.
   */
  readonly afterCut: DeviceMessage | null;
}

const ECHOED_NAME = /^[A-Za-z0-9_]{1,16}$/;

/**
 * Whether the firmware framed the line correctly and the codec reads it. The one line the
 * host codec cannot type is a NAK that echoes a name which is no command (`NAK,HELP,unknown`):
 * protocol v1 allows it, the codec (which knows only real command names) drops it as range.
 */
export function isWellFormed(line: DeviceLine): boolean {
  if (line.message !== null) return true;
  const [type, name = '', reason = ''] = line.fields;
  return type === 'NAK' && line.fields.length === 3 && ECHOED_NAME.test(name) && (NAK_REASONS as readonly string[]).includes(reason);
}

/** A reply to a host line: HELLO (to INFO), ACK or NAK. */
export function isReply(line: DeviceLine): boolean {
  const type = line.fields[0];
  return type === 'HELLO' || type === 'ACK' || type === 'NAK';
}

export function sampleOf(line: DeviceLine): SampleMessage | null {
  return line.message?.type === 'S' ? line.message : null;
}

/** Samples lost between consecutive S lines (seq wraps at 65536): one entry per gap. */
export function seqGaps(samples: readonly SampleMessage[]): { afterSeq: number; missing: number }[] {
  const gaps: { afterSeq: number; missing: number }[] = [];
  for (let index = 1; index < samples.length; index++) {
    const previous = samples[index - 1];
    const current = samples[index];
    if (!previous || !current) continue;
    const step = (current.seq - previous.seq + SEQ_MODULUS) % SEQ_MODULUS;
    if (step !== 1) gaps.push({ afterSeq: previous.seq, missing: step - 1 });
  }
  return gaps;
}

export interface StartOptions {
  readonly sensor: SensorKind;
  readonly eepromPath?: string;
  readonly realtime?: boolean;
  readonly uart?: 'chip' | 'simavr';
  readonly hx711RateHz?: 10 | 80;
  /** Have the harness report each conversion the HX711 makes ready (`hx711Data` events). */
  readonly hx711DataEvents?: boolean;
  /** Hold the thumb button before the port's open resets the AVR, so the boot sees it held (CEILING unlocked for 10 s). */
  readonly thumbButtonHeld?: boolean;
}

const REPLY_TIMEOUT_MS = 15_000;

export class EmulatedFirmware {
  readonly emulator: Emulator;
  readonly sensor: SensorKind;
  /** Every line received since the port opened, in order. */
  readonly lines: DeviceLine[] = [];
  /** Every pin change the harness reported since the emulator started. */
  readonly pinChanges: PinChange[] = [];
  /** Every conversion the emulated HX711 made ready (only with `hx711DataEvents`). */
  readonly hx711Data: { raw: number; emulatedUs: number }[] = [];
  /** Every AVR reset the harness reported, the open's own included. */
  readonly #resets: Extract<EmulatorEvent, { event: 'reset' }>[] = [];
  /** When the port's open reset the AVR (an Uno's DTR), in emulated us. */
  #openResetUs = Number.POSITIVE_INFINITY;
  /** UART bytes the harness lost (overrun, ptyFull, unread): none is expected anywhere here. */
  readonly serialDrops: Extract<EmulatorEvent, { event: 'serialDropped' }>[] = [];
  /** Lines the guard discarded before the codec saw them (too long, cut off). */
  readonly guardDrops: string[] = [];
  /** The HELLO that answered the port's open (the boot after the open's reset). */
  hello!: HelloMessage;
  /** Host lines written (each owes exactly one reply unless empty). */
  hostLinesSent = 0;

  readonly #port: SerialPort;
  readonly #waiters = new Set<() => void>();
  #failure: Error | null = null;

  private constructor(emulator: Emulator, port: SerialPort, sensor: SensorKind) {
    this.emulator = emulator;
    this.#port = port;
    this.sensor = sensor;
  }

  /** Starts the emulator on the build's hex, opens the pty and resolves on the boot HELLO. */
  static async start(options: StartOptions): Promise<EmulatedFirmware> {
    await buildFirmware();
    const emulatorOptions: EmulatorOptions = { hexPath: firmwareHexPath(options.sensor), sensor: options.sensor };
    if (options.eepromPath !== undefined) emulatorOptions.eepromPath = options.eepromPath;
    if (options.realtime !== undefined) emulatorOptions.realtime = options.realtime;
    if (options.uart !== undefined) emulatorOptions.uart = options.uart;
    if (options.hx711RateHz !== undefined) emulatorOptions.hx711RateHz = options.hx711RateHz;
    if (options.hx711DataEvents !== undefined) emulatorOptions.hx711DataEvents = options.hx711DataEvents;
    const emulator = await Emulator.start(emulatorOptions);
    if (options.thumbButtonHeld === true) {
      try {
        await emulator.setButton(true);
      } catch (error) {
        await emulator.stop();
        throw error;
      }
    }
    const port = new SerialPort({ path: emulator.ptyPath, baudRate: FIRMWARE_BAUD_RATE, autoOpen: false });
    const device = new EmulatedFirmware(emulator, port, options.sensor);
    emulator.onEvent((event) => device.#onEmulatorEvent(event));
    void emulator.exited.then(() => device.#fail(new Error('the emulator exited')));
    // the open's reset is reported on the harness's stdout, the HELLO after it on the pty:
    // which arrives first is up to the event loop, so wait for both
    const openReset = emulator.waitForEvent('reset', () => true, 30_000);
    openReset.catch(() => undefined);
    try {
      await device.#open();
      const hello = await device.nextLine((line) => line.message?.type === 'HELLO', { from: 0, what: 'the boot HELLO' });
      if (hello.message?.type !== 'HELLO') throw new Error('unreachable: not a HELLO');
      device.hello = hello.message;
      if (hello.message.sensor !== options.sensor) throw new Error(`the ${options.sensor} build says it is ${hello.message.sensor}`);
      device.#openResetUs = (await openReset).emulatedUs;
    } catch (error) {
      await device.close();
      throw error;
    }
    return device;
  }

  /** When the port's open reset the AVR (the boot whose HELLO is `hello`), in emulated us. */
  get openResetUs(): number {
    return this.#openResetUs;
  }

  /** AVR resets the harness reported after the one the port's open caused (watchdog, reset()). */
  get resets(): Extract<EmulatorEvent, { event: 'reset' }>[] {
    return this.#resets.filter((reset) => reset.emulatedUs > this.#openResetUs);
  }

  /** The index the next line will get: search from here for what a later action causes. */
  cursor(): number {
    return this.lines.length;
  }

  /** The first line at or after `from` that matches (waiting for it as lines arrive). */
  nextLine(predicate: (line: DeviceLine) => boolean, options: { from: number; what?: string; timeoutMs?: number }): Promise<DeviceLine> {
    let scanned = options.from;
    return this.#waitFor(options.timeoutMs ?? REPLY_TIMEOUT_MS, options.what ?? 'a matching line', () => {
      for (; scanned < this.lines.length; scanned++) {
        const line = this.lines[scanned];
        if (line && predicate(line)) return line;
      }
      return null;
    });
  }

  /** The first `count` S lines at or after `from`, as samples. */
  async samples(from: number, count: number, timeoutMs = REPLY_TIMEOUT_MS + count * 50): Promise<SampleMessage[]> {
    const found: SampleMessage[] = [];
    let scanned = from;
    return this.#waitFor(timeoutMs, `${count} S lines from line ${from}`, () => {
      for (; scanned < this.lines.length && found.length < count; scanned++) {
        const line = this.lines[scanned];
        const sample = line ? sampleOf(line) : null;
        if (sample) found.push(sample);
      }
      return found.length === count ? found : null;
    });
  }

  /** The S lines in the log from `from` up to (not including) `to`. */
  samplesBetween(from: number, to = this.lines.length): SampleMessage[] {
    return this.lines.slice(from, to).flatMap((line) => sampleOf(line) ?? []);
  }

  /** Resolves with the first S line (at or after `from`) sampled at or after device time `tUs`. */
  async sampleAtOrAfter(tUs: number, from: number, timeoutMs = REPLY_TIMEOUT_MS): Promise<SampleMessage> {
    const line = await this.nextLine((candidate) => (sampleOf(candidate)?.tUs ?? -1) >= tUs, { from, timeoutMs, what: `an S line with t_us >= ${tUs}` });
    const sample = sampleOf(line);
    if (!sample) throw new Error('unreachable: not a sample');
    return sample;
  }

  /** Sends `$BODY*HH\n` (checksum computed) and resolves with the reply it caused. */
  command(body: string): Promise<DeviceLine> {
    return this.request(`${frame(body)}\n`);
  }

  /** Writes bytes as they are (one host line, ending in `\n`) and resolves with the reply. */
  async request(data: string | Buffer): Promise<DeviceLine> {
    const from = this.cursor();
    await this.write(data);
    return this.nextLine(isReply, { from, what: `the reply to ${JSON.stringify(Buffer.from(data).toString('latin1').slice(0, 60))}` });
  }

  /** Writes bytes to the device (strings as latin1: one byte per character). */
  write(data: string | Buffer): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    for (const byte of bytes) if (byte === 0x0a) this.hostLinesSent++;
    return new Promise((resolve, reject) => {
      this.#port.write(bytes, (error) => {
        if (error) {
          reject(error);
          return;
        }
        this.#port.drain((drainError) => (drainError ? reject(drainError) : resolve()));
      });
    });
  }

  /**
   * Resets the AVR through the harness (as its reset pin would) and resolves with the new
   * boot HELLO. A reset in the middle of a line leaves its start on the wire, so the HELLO
   * may come glued to it (as it would from a real board): it is read from its `$` on.
   */
  async reset(): Promise<{ hello: HelloMessage; atIndex: number; resetUs: number }> {
    const from = this.cursor();
    const resetUs = await this.emulator.reset();
    const line = await this.nextLine((candidate) => (candidate.message ?? candidate.afterCut)?.type === 'HELLO', { from, what: 'the HELLO after a reset' });
    const hello = line.message ?? line.afterCut;
    if (hello?.type !== 'HELLO') throw new Error('unreachable: not a HELLO');
    return { hello, atIndex: line.index, resetUs };
  }

  /** Waits (polling the harness) until the emulated clock has reached `targetUs`. */
  async untilEmulatedUs(targetUs: number): Promise<number> {
    const limitMs = performance.now() + REPLY_TIMEOUT_MS + Math.max(0, targetUs - (await this.emulator.emulatedTimeUs())) / 100;
    for (;;) {
      const nowUs = await this.emulator.emulatedTimeUs();
      if (nowUs >= targetUs) return nowUs;
      if (performance.now() > limitMs) throw new Error(`the emulated clock did not reach ${targetUs} us (at ${nowUs} us)`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(50, Math.max(5, (targetUs - nowUs) / 1000))));
    }
  }

  /** Pin changes of one pin within [fromUs, toUs] of emulated time. */
  pinChangesOf(pin: PinChange['pin'], fromUs: number, toUs = Number.POSITIVE_INFINITY): PinChange[] {
    return this.pinChanges.filter((change) => change.pin === pin && change.emulatedUs >= fromUs && change.emulatedUs <= toUs);
  }

  /** The level of `pin` at an emulated time, from the changes reported before it (0 before any). */
  pinLevelAt(pin: PinChange['pin'], atUs: number): number {
    return this.pinChanges.findLast((change) => change.pin === pin && change.emulatedUs <= atUs)?.level ?? 0;
  }

  /** The first change of `pin` at or after `fromUs` that matches, as it is reported. */
  async nextPinChange(pin: PinChange['pin'], fromUs: number, predicate: (change: PinChange) => boolean, timeoutMs = REPLY_TIMEOUT_MS): Promise<PinChange> {
    return this.#waitFor(timeoutMs, `a change of ${pin} after ${fromUs} us`, () => this.pinChanges.find((change) => change.pin === pin && change.emulatedUs >= fromUs && predicate(change)) ?? null);
  }

  /** Lines the firmware sent that are not well-formed protocol v1 (none is expected). */
  malformedLines(): DeviceLine[] {
    return this.lines.filter((line) => !isWellFormed(line));
  }

  /** Closes the port and stops the emulator (idempotent). */
  async close(): Promise<void> {
    if (this.#port.isOpen) await new Promise<void>((resolve) => this.#port.close(() => resolve()));
    await this.emulator.stop();
  }

  #open(): Promise<void> {
    const guard = new LineGuard({ maxLineBytes: MAX_LINE_BYTES, onDrop: (reason) => this.guardDrops.push(reason) });
    const lines = new ReadlineParser({ delimiter: '\n', encoding: 'latin1' });
    lines.on('data', (text: string) => this.#onLine(text));
    guard.pipe(lines);
    this.#port.on('data', (chunk: Buffer) => guard.write(chunk));
    return new Promise((resolve, reject) => {
      this.#port.open((error) => (error ? reject(error) : resolve()));
    });
  }

  #onLine(text: string): void {
    const framed = unframe(text);
    const fields = framed.ok ? framed.body.split(',') : [];
    const decoded = decodeDeviceLine(text, this.sensor);
    const lastStart = text.lastIndexOf('$');
    const tail = !decoded.ok && lastStart > 0 ? decodeDeviceLine(text.slice(lastStart), this.sensor) : null;
    this.lines.push({
      index: this.lines.length,
      text,
      fields,
      message: decoded.ok ? decoded.message : null,
      dropReason: decoded.ok ? null : decoded.reason,
      afterCut: tail?.ok === true ? tail.message : null,
    });
    this.#wake();
  }

  #onEmulatorEvent(event: EmulatorEvent): void {
    if (event.event === 'pin') this.pinChanges.push(pinChangeOf(event));
    if (event.event === 'hx711Data') this.hx711Data.push({ raw: event.raw, emulatedUs: event.emulatedUs });
    if (event.event === 'serialDropped') this.serialDrops.push(event);
    if (event.event === 'reset') this.#resets.push(event);
    this.#wake();
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    this.#wake();
  }

  #wake(): void {
    for (const wake of this.#waiters) wake();
  }

  #waitFor<T>(timeoutMs: number, what: string, take: () => T | null): Promise<T> {
    return new Promise((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      const check = (): void => {
        const result = take();
        if (result !== null) {
          finish();
          resolve(result);
        } else if (this.#failure) {
          finish();
          reject(new Error(`${this.#failure.message} while waiting for ${what}`));
        }
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        const tail = this.lines.slice(-5).map((line) => line.text);
        reject(new Error(`no ${what} within ${timeoutMs} ms of wall time; last lines: ${JSON.stringify(tail)}`));
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }
}
