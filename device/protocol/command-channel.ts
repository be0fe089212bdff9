/**
 * Host commands with their replies: the serial transport's way of telling the device
 * anything (INFO, STREAM, RATE, LIMIT, FEEDBACK, ZONE, TARE). One command is on the wire
 * at a time, so every `ACK`/`NAK` (and the `HELLO` that answers `INFO`) belongs to it; a
 * reply naming another command is a late one and is left alone. A command that gets no
 * reply in time, or comes back `NAK,...,checksum` (garbled on the way), is sent again,
 * a bounded number of times; any other `NAK` is final and becomes a `CommandRefusedError`
 * naming the command and the reason.
 *
 *   const channel = new CommandChannel({ send: (line) => port.write(line), describeDevice: () => 'device 1a2b3c4d' });
 *   lineReader.onMessage = (message) => channel.handle(message) || ...;
 *   await channel.request({ type: 'RATE', rateHz: 200 });
 */
import type { AckMessage, DeviceMessage, HelloMessage } from './device-messages.ts';
import { encodeHostCommand, hostCommandBody, type HostCommand, type NakReason } from './host-commands.ts';

/** The protocol promises a reply within 50 ms; the rest is the link's and the host's latency. */
export const DEFAULT_REPLY_TIMEOUT_MS = 300;
export const DEFAULT_ATTEMPTS = 3;

export type CommandReply = AckMessage | HelloMessage;

const NAK_EXPLANATIONS: Record<NakReason, string> = {
  range: 'a value is out of range for this device (its sensor, its rate cap or its link)',
  syntax: 'the device could not read the command (malformed or too long)',
  checksum: 'the command arrived corrupted every time (checksum)',
  unknown: 'the firmware does not know this command (update the firmware)',
  ceiling: "the alarm would go above the device's ceiling, or off: no host command can do that",
  locked: 'the ceiling is set only within 10 s of a boot with the thumb button held',
};

/** The device answered `NAK`: the command was not applied. */
export class CommandRefusedError extends Error {
  override readonly name = 'CommandRefusedError';
  constructor(
    readonly command: string,
    readonly reason: NakReason,
    device: string,
  ) {
    super(`${device} refused ${command}: ${reason} (${NAK_EXPLANATIONS[reason]})`);
  }
}

/** No reply after every attempt. */
export class CommandTimeoutError extends Error {
  override readonly name = 'CommandTimeoutError';
  constructor(
    readonly command: string,
    device: string,
    timeoutMs: number,
    attempts: number,
  ) {
    super(
      `${device} did not answer ${command} within ${timeoutMs} ms, ${attempts} time${attempts === 1 ? '' : 's'}: ` +
        'check the cable and the baud rate (a Knotmeter answers every command within 50 ms)',
    );
  }
}

/** The link went away (or the transport stopped) before the reply came. */
export class CommandCancelledError extends Error {
  override readonly name = 'CommandCancelledError';
}

export interface CommandChannelOptions {
  /** Writes one framed line to the device; may throw if the link is gone. */
  send(line: string): void;
  /** Names the device in errors, e.g. `device 1a2b3c4d on /dev/ttyACM0`. */
  describeDevice(): string;
  readonly replyTimeoutMs?: number;
  readonly attempts?: number;
}

export interface RequestOptions {
  /** Replace a queued (not yet sent) command of the same type instead of queueing another: the latest value wins. */
  readonly coalesce?: boolean;
  readonly attempts?: number;
  readonly replyTimeoutMs?: number;
}

interface Waiter {
  resolve(reply: CommandReply): void;
  reject(error: Error): void;
}

interface Entry {
  command: HostCommand;
  line: string;
  readonly waiters: Waiter[];
  readonly attempts: number;
  readonly replyTimeoutMs: number;
  attempt: number;
  timer: NodeJS.Timeout | null;
}

export class CommandChannel {
  readonly #options: CommandChannelOptions;
  readonly #queue: Entry[] = [];
  #inFlight: Entry | null = null;

  constructor(options: CommandChannelOptions) {
    this.#options = options;
  }

  /** Commands sent or waiting. */
  get pending(): number {
    return this.#queue.length + (this.#inFlight === null ? 0 : 1);
  }

  /** Sends a command once those before it are answered; resolves with its ACK (or HELLO for INFO). */
  request(command: HostCommand, options: RequestOptions = {}): Promise<CommandReply> {
    return new Promise((resolve, reject) => {
      const line = encodeHostCommand(command); // a value it cannot encode rejects here, before anything is sent
      const waiter: Waiter = { resolve, reject };
      if (options.coalesce === true) {
        const queued = this.#queue.find((entry) => entry.command.type === command.type);
        if (queued !== undefined) {
          queued.command = command;
          queued.line = line;
          queued.waiters.push(waiter);
          return;
        }
      }
      this.#queue.push({
        command,
        line,
        waiters: [waiter],
        attempts: options.attempts ?? this.#options.attempts ?? DEFAULT_ATTEMPTS,
        replyTimeoutMs: options.replyTimeoutMs ?? this.#options.replyTimeoutMs ?? DEFAULT_REPLY_TIMEOUT_MS,
        attempt: 0,
        timer: null,
      });
      if (this.#inFlight === null) this.#next();
    });
  }

  /** Offers a message from the device; true if it was the reply to the command on the wire. */
  handle(message: DeviceMessage): boolean {
    const entry = this.#inFlight;
    if (entry === null) return false;
    const type = entry.command.type;
    switch (message.type) {
      case 'HELLO':
        if (type !== 'INFO') return false;
        this.#settle(entry, (waiter) => waiter.resolve(message));
        return true;
      case 'ACK':
        if (message.command !== type || type === 'INFO') return false;
        this.#settle(entry, (waiter) => waiter.resolve(message));
        return true;
      case 'NAK': {
        if (message.command !== null && message.command !== type) return false;
        if (message.reason === 'checksum' && entry.attempt < entry.attempts) {
          this.#transmit(entry);
          return true;
        }
        const error = new CommandRefusedError(hostCommandBody(entry.command), message.reason, this.#options.describeDevice());
        this.#settle(entry, (waiter) => waiter.reject(error));
        return true;
      }
      default:
        return false;
    }
  }

  /** Rejects every command sent or waiting (the link closed, the transport stopped). */
  cancelAll(reason: string): void {
    const entries = this.#inFlight === null ? [...this.#queue] : [this.#inFlight, ...this.#queue];
    this.#queue.length = 0;
    this.#inFlight = null;
    for (const entry of entries) {
      if (entry.timer !== null) clearTimeout(entry.timer);
      const error = new CommandCancelledError(`${hostCommandBody(entry.command)} not confirmed by ${this.#options.describeDevice()}: ${reason}`);
      for (const waiter of entry.waiters) waiter.reject(error);
    }
  }

  #next(): void {
    const entry = this.#queue.shift();
    if (entry === undefined) return;
    this.#inFlight = entry;
    this.#transmit(entry);
  }

  #transmit(entry: Entry): void {
    if (entry.timer !== null) clearTimeout(entry.timer);
    entry.attempt++;
    try {
      this.#options.send(entry.line);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const failure = new CommandCancelledError(`cannot send ${hostCommandBody(entry.command)} to ${this.#options.describeDevice()}: ${reason}`);
      this.#settle(entry, (waiter) => waiter.reject(failure));
      return;
    }
    entry.timer = setTimeout(() => {
      entry.timer = null;
      if (this.#inFlight !== entry) return;
      if (entry.attempt < entry.attempts) {
        this.#transmit(entry);
        return;
      }
      const error = new CommandTimeoutError(hostCommandBody(entry.command), this.#options.describeDevice(), entry.replyTimeoutMs, entry.attempts);
      this.#settle(entry, (waiter) => waiter.reject(error));
    }, entry.replyTimeoutMs);
  }

  #settle(entry: Entry, outcome: (waiter: Waiter) => void): void {
    if (entry.timer !== null) clearTimeout(entry.timer);
    entry.timer = null;
    if (this.#inFlight === entry) this.#inFlight = null;
    for (const waiter of entry.waiters) outcome(waiter);
    if (this.#inFlight === null) this.#next();
  }
}
