/**
 * A fake Knotmeter for the serial transport's integration tests: it opens the device end
 * of a pty pair with the real `serialport` bindings and plays protocol v1 from the
 * device's side. It answers every host command the way the firmware does (HELLO for INFO,
 * ACK, or NAK with a reason the test can choose), keeps the settings it was sent, and
 * sends whatever the test asks: sample lines on its own counters (which the test can wrap,
 * skip or restart), alarms, faults, boot HELLOs and raw garbage.
 */
import { SerialPort } from 'serialport';
import { encodeDeviceMessage, type DeviceMessage, type HelloMessage } from '../../../../device/protocol/device-messages.ts';
import { decodeHostLine, type HostCommand, type HostCommandName, type NakReason } from '../../../../device/protocol/host-commands.ts';
import type { SensorKind } from '../../../../device/transport.ts';

export interface FakeDeviceIdentity {
  readonly deviceId: string;
  readonly firmwareVersion: string;
  readonly sensor: SensorKind;
  readonly rateHz: number;
  /** The alarm ceiling its HELLO reports (firmware 1.2.0's ninth field); none: an older firmware's 8 fields. */
  readonly alarmCeilingRaw?: number;
}

const MAX_HOST_LINE_BYTES = 4096;

export class FakeDevice {
  readonly identity: FakeDeviceIdentity;
  /** Every command the host sent, in order (what the device read, valid or not). */
  readonly received: HostCommand[] = [];
  /** Replies it owes are refused with these reasons, by command. */
  readonly refuse = new Map<HostCommandName, NakReason>();
  /** Commands it reads but does not answer (to test timeouts), by command. */
  readonly ignore = new Set<HostCommandName>();
  /** The next this many host lines arrive "corrupted": answered `NAK,?,checksum` and not applied. */
  garbleNext = 0;
  rateHz: number;
  limit = { onRaw: 0, offRaw: 0 };
  zone = 0;
  streaming = true;
  /** The device's own counters: the next sample's uint16 seq and uint32 clock. */
  seq = 0;
  tUs = 1000;
  #port: SerialPort | null = null;
  #pending = '';
  readonly #waiters = new Set<() => void>();

  constructor(identity: FakeDeviceIdentity) {
    this.identity = identity;
    this.rateHz = identity.rateHz;
  }

  get periodUs(): number {
    return Math.round(1e6 / this.rateHz);
  }

  hello(): HelloMessage {
    return {
      type: 'HELLO',
      protocolVersion: 1,
      firmwareVersion: this.identity.firmwareVersion,
      deviceId: this.identity.deviceId,
      sensor: this.identity.sensor,
      rateHz: this.rateHz,
      limitOnRaw: this.limit.onRaw,
      limitOffRaw: this.limit.offRaw,
      ...(this.identity.alarmCeilingRaw === undefined ? {} : { alarmCeilingRaw: this.identity.alarmCeilingRaw }),
    };
  }

  /** Opens the device end of the pty (again, after a replug). */
  async open(path: string): Promise<void> {
    const port = new SerialPort({ path, baudRate: 115_200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
    port.on('data', (chunk: Buffer) => this.#onData(chunk));
    port.on('error', () => undefined);
    port.on('close', () => {
      if (this.#port === port) this.#port = null;
    });
    this.#pending = '';
    this.#port = port;
  }

  /** Closes its end (if still open); the pty pair's other end stays. */
  async close(): Promise<void> {
    const port = this.#port;
    this.#port = null;
    if (port?.isOpen === true) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  /** Writes raw bytes as they are: garbage, split lines, bad checksums. */
  async writeRaw(data: string | Buffer): Promise<void> {
    const port = this.#port;
    if (port === null) throw new Error('the fake device is not open');
    await new Promise<void>((resolve, reject) => {
      port.write(data, (error) => (error ? reject(error) : undefined));
      port.drain((error) => (error ? reject(error) : resolve()));
    });
  }

  async send(...messages: DeviceMessage[]): Promise<void> {
    await this.writeRaw(messages.map(encodeDeviceMessage).join(''));
  }

  /** The next `count` samples on its counters (seq +1, clock + one period, both wrapping); raw from `rawOf(index)`. */
  nextSamples(count: number, rawOf: (index: number) => number = () => 512): DeviceMessage[] {
    const samples: DeviceMessage[] = [];
    for (let index = 0; index < count; index++) {
      samples.push({ type: 'S', seq: this.seq, tUs: this.tUs, raw: rawOf(index) });
      this.skip(1);
    }
    return samples;
  }

  /** Advances its counters by `count` samples without sending them (lost on the way). */
  skip(count: number): void {
    this.seq = (this.seq + count) % 0x1_0000;
    this.tUs = (this.tUs + count * this.periodUs) % 0x1_0000_0000;
  }

  async sendSamples(count: number, rawOf?: (index: number) => number): Promise<void> {
    await this.send(...this.nextSamples(count, rawOf));
  }

  /** Restarts its counters as a reboot does, and (unless `silent`) says HELLO as the firmware does at boot. */
  async reboot(options: { silent?: boolean } = {}): Promise<void> {
    this.seq = 0;
    this.tUs = 1200;
    this.rateHz = this.identity.rateHz;
    this.zone = 0;
    if (options.silent !== true) await this.send(this.hello());
  }

  /** Resolves once the host has sent a command that matches; earlier ones count too. */
  async waitForCommand(predicate: (command: HostCommand) => boolean, timeoutMs = 3000, from = 0): Promise<HostCommand> {
    const found = (): HostCommand | undefined => this.received.slice(from).find(predicate);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const command = found();
      if (command !== undefined) return command;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the host did not send the expected command within ${timeoutMs} ms (got ${JSON.stringify(this.received.slice(from))})`);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.#waiters.add(wake);
      });
    }
  }

  #onData(chunk: Buffer): void {
    this.#pending += chunk.toString('latin1');
    if (this.#pending.length > MAX_HOST_LINE_BYTES) this.#pending = this.#pending.slice(-MAX_HOST_LINE_BYTES);
    for (;;) {
      const end = this.#pending.indexOf('\n');
      if (end < 0) break;
      const line = this.#pending.slice(0, end);
      this.#pending = this.#pending.slice(end + 1);
      void this.#answer(line);
    }
  }

  async #answer(line: string): Promise<void> {
    if (this.garbleNext > 0) {
      this.garbleNext--;
      await this.send({ type: 'NAK', command: null, reason: 'checksum' }).catch(() => undefined);
      return;
    }
    const decoded = decodeHostLine(line);
    if (!decoded.ok) {
      await this.send({ type: 'NAK', command: decoded.command, reason: decoded.reason }).catch(() => undefined);
      return;
    }
    const command = decoded.command;
    this.received.push(command);
    for (const wake of [...this.#waiters]) wake();
    if (this.ignore.has(command.type)) return;
    const refused = this.refuse.get(command.type);
    if (refused !== undefined) {
      await this.send({ type: 'NAK', command: command.type, reason: refused }).catch(() => undefined);
      return;
    }
    if (command.type === 'RATE') this.rateHz = command.rateHz;
    if (command.type === 'LIMIT') this.limit = { onRaw: command.onRaw, offRaw: command.offRaw };
    if (command.type === 'ZONE') this.zone = command.zone;
    if (command.type === 'STREAM') this.streaming = command.on;
    await this.send(command.type === 'INFO' ? this.hello() : { type: 'ACK', command: command.type }).catch(() => undefined);
  }
}
