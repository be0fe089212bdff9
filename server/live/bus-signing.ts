/**
 * Every message on the bus signed with the clinic's bus key (`--bus-key FILE`), so that
 * knowing Redis's address and password is not enough to speak for a server: a machine on the
 * LAN that sniffs Redis's password (Redis sends it in the clear) or a Redis left open can
 * neither move another room's alarm (presets, calibration, a forwarded request) nor show a
 * tablet a forged reading, status or warning.
 *
 * It wraps the Redis client the socket.io adapter is given, below the adapter, so every path
 * is covered whatever the adapter sends: stream entries (broadcasts: XADD, read back with
 * XREAD/XRANGE) carry the signature in fields of their own; pub/sub messages (each server's
 * announcements, forwarded requests and their answers: PUBLISH, read by a subscriber) carry
 * it in a header before the adapter's bytes. A message arriving without a valid signature is
 * dropped before the adapter sees it (a stream entry is handed on emptied, so the adapter
 * still moves past it), and counted.
 *
 * Against replays (a signed message copied off the bus and sent again): each message names
 * its sender (the server's random id per start), a sequence number that only rises, and the
 * time it was sent. A receiver keeps each sender's last number per channel kind and takes
 * only higher ones; a sender it does not know yet is taken only within `FRESH_MS` of its
 * clock (servers of a clinic keep time by NTP).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { RedisClientType } from 'redis';

/** How far a message's time may be from this host's clock (clocks of a clinic's hosts kept by NTP). */
export const FRESH_MS = 60_000;
/** A bigger message is refused before its signature is computed (a flood must not cost CPU). */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** Senders remembered (each restart of a server is a new one); the longest unheard are forgotten first. */
const MAX_SENDERS = 1000;

const SIGNATURE_BYTES = 32;
/** The stream entry's fields this adds (the adapter's own are uid, nsp, type, data). */
const FIELD = { sender: 'kmSender', seq: 'kmSeq', time: 'kmTime', signature: 'kmSig' } as const;

type Channel = 'stream' | 'pubsub';

/** Why a message was refused, as the log says it. */
export type Refusal = 'not signed with the bus key' | 'replayed' | 'stale' | 'too big';

interface SenderState {
  stream: number;
  pubsub: number;
  heardAtMs: number;
}

interface Envelope {
  readonly sender: string;
  readonly seq: number;
  readonly timeMs: number;
}

export class BusSigner {
  readonly #key: Buffer;
  readonly #sender: string;
  readonly #onRefused: (refusal: Refusal, channel: Channel) => void;
  readonly #now: () => number;
  readonly #senders = new Map<string, SenderState>();
  #seq = 0;

  /**
   * @param key the clinic's bus key (every server of the clinic has the same)
   * @param sender this server's id on the bus (random per start)
   * @param onRefused told of each message refused (to count and log)
   * @param now wall-clock time in ms (Date.now; tests pass their own)
   */
  constructor(key: Buffer, sender: string, onRefused: (refusal: Refusal, channel: Channel) => void, now: () => number = Date.now) {
    this.#key = key;
    this.#sender = sender;
    this.#onRefused = onRefused;
    this.#now = now;
  }

  /** A stream entry's fields with this server's signature added. */
  signEntry(fields: Readonly<Record<string, string>>): Record<string, string> {
    const envelope = this.#next();
    const signed = { ...fields, [FIELD.sender]: envelope.sender, [FIELD.seq]: String(envelope.seq), [FIELD.time]: String(envelope.timeMs) };
    return { ...signed, [FIELD.signature]: this.#mac('stream', ...entryParts(signed)).toString('base64') };
  }

  /** The entry's own fields if it is signed with the bus key and new; null (and told) if not. */
  verifyEntry(fields: Readonly<Record<string, string>>): Record<string, string> | null {
    const { [FIELD.signature]: signature, ...signed } = fields;
    if (signature === undefined) return this.#refuse('not signed with the bus key', 'stream');
    if (entryLength(signed) > MAX_MESSAGE_BYTES) return this.#refuse('too big', 'stream');
    if (!this.#matches(this.#mac('stream', ...entryParts(signed)), Buffer.from(signature, 'base64'))) return this.#refuse('not signed with the bus key', 'stream');
    const envelope = { sender: signed[FIELD.sender] ?? '', seq: Number(signed[FIELD.seq]), timeMs: Number(signed[FIELD.time]) };
    if (!this.#accept(envelope, 'stream')) return null;
    const added = new Set<string>(Object.values(FIELD));
    return Object.fromEntries(Object.entries(signed).filter(([name]) => !added.has(name)));
  }

  /** A pub/sub message: a header (length, JSON envelope), the signature, then the adapter's bytes. */
  signMessage(channel: string, payload: Buffer): Buffer {
    const header = Buffer.from(JSON.stringify(this.#next()));
    const length = Buffer.alloc(2);
    length.writeUInt16BE(header.length);
    const signature = this.#mac('pubsub', channel, '\0', header, payload);
    return Buffer.concat([length, header, signature, payload]);
  }

  /** The adapter's bytes of a pub/sub message if it is signed with the bus key and new; null (and told) if not. */
  verifyMessage(channel: string, message: Buffer): Buffer | null {
    if (message.length > MAX_MESSAGE_BYTES) return this.#refuse('too big', 'pubsub');
    if (message.length < 2) return this.#refuse('not signed with the bus key', 'pubsub');
    const headerEnd = 2 + message.readUInt16BE(0);
    if (message.length < headerEnd + SIGNATURE_BYTES) return this.#refuse('not signed with the bus key', 'pubsub');
    const header = message.subarray(2, headerEnd);
    const payload = message.subarray(headerEnd + SIGNATURE_BYTES);
    const expected = this.#mac('pubsub', channel, '\0', header, payload);
    if (!this.#matches(expected, message.subarray(headerEnd, headerEnd + SIGNATURE_BYTES))) return this.#refuse('not signed with the bus key', 'pubsub');
    const envelope = parseEnvelope(header);
    if (envelope === null) return this.#refuse('not signed with the bus key', 'pubsub');
    return this.#accept(envelope, 'pubsub') ? payload : null;
  }

  #next(): Envelope {
    this.#seq += 1;
    return { sender: this.#sender, seq: this.#seq, timeMs: this.#now() };
  }

  /** The HMAC of `parts` one after another (the pub/sub message's parts are not copied into one buffer first). */
  #mac(kind: Channel, ...parts: readonly (string | Buffer)[]): Buffer {
    const hmac = createHmac('sha256', this.#key).update(kind).update('\0');
    for (const part of parts) hmac.update(part);
    return hmac.digest();
  }

  #matches(expected: Buffer, given: Buffer): boolean {
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** Whether a validly signed message is new: its sender's number has risen, or an unknown sender's is fresh. */
  #accept(envelope: Envelope, channel: Channel): boolean {
    const nowMs = this.#now();
    const known = this.#senders.get(envelope.sender);
    const refusal = !Number.isSafeInteger(envelope.seq) || !Number.isFinite(envelope.timeMs) || envelope.sender === '' ? 'not signed with the bus key'
      : known === undefined && Math.abs(nowMs - envelope.timeMs) > FRESH_MS ? 'stale'
      : known !== undefined && envelope.seq <= known[channel] ? 'replayed'
      : null;
    if (refusal !== null) {
      this.#refuse(refusal, channel);
      return false;
    }
    const state = known ?? this.#remember(envelope.sender);
    state[channel] = envelope.seq;
    state.heardAtMs = nowMs;
    return true;
  }

  #remember(sender: string): SenderState {
    if (this.#senders.size >= MAX_SENDERS) {
      const quietest = [...this.#senders.entries()].reduce((oldest, entry) => (entry[1].heardAtMs < oldest[1].heardAtMs ? entry : oldest));
      this.#senders.delete(quietest[0]);
    }
    const state: SenderState = { stream: 0, pubsub: 0, heardAtMs: 0 };
    this.#senders.set(sender, state);
    return state;
  }

  #refuse(refusal: Refusal, channel: Channel): null {
    this.#onRefused(refusal, channel);
    return null;
  }
}

/**
 * What an entry's signature covers: its fields in name order (whatever order Redis gives
 * them back in), each name and value after its length, so that no two different entries
 * give the same bytes. Hashed part by part: the readings' tens of KB are never copied.
 */
function entryParts(fields: Readonly<Record<string, string>>): string[] {
  return Object.keys(fields)
    .sort()
    .flatMap((name) => {
      const value = fields[name] ?? '';
      return [`${Buffer.byteLength(name)}:${name}${Buffer.byteLength(value)}:`, value];
    });
}

/** An entry's size in UTF-16 code units, names and values (a bound checked before any hashing). */
function entryLength(fields: Readonly<Record<string, string>>): number {
  return Object.entries(fields).reduce((total, [name, value]) => total + name.length + value.length, 0);
}

function parseEnvelope(header: Buffer): Envelope | null {
  try {
    const parsed = JSON.parse(header.toString()) as Partial<Envelope> | null;
    if (typeof parsed?.sender !== 'string' || typeof parsed.seq !== 'number' || typeof parsed.timeMs !== 'number') return null;
    return { sender: parsed.sender, seq: parsed.seq, timeMs: parsed.timeMs };
  } catch {
    return null;
  }
}

/** A stream read's answer, as the `redis` client gives it. */
type StreamRead = { name: string; messages: { id: string; message: Record<string, string> }[] }[] | null;
type PubSubListener = (message: Buffer, channel: Buffer) => unknown;

/**
 * The Redis client the adapter is given: what it writes is signed, what it reads is
 * verified (its duplicates, which the adapter reads the stream and subscribes with, too).
 * A refused stream entry is handed on with no fields: the adapter skips it and reads on.
 */
export function signingClient(client: RedisClientType, signer: BusSigner): RedisClientType {
  const verifiedRead = (read: StreamRead): StreamRead =>
    read?.map((stream) => ({ ...stream, messages: stream.messages.map((entry) => ({ id: entry.id, message: signer.verifyEntry(entry.message) ?? {} })) })) ?? null;
  const wrappers: Record<string, (method: (...args: unknown[]) => unknown) => (...args: unknown[]) => unknown> = {
    xAdd: (method) => (key, id, fields, ...rest) => method(key, id, signer.signEntry(fields as Record<string, string>), ...rest),
    xRead: (method) => async (...args) => verifiedRead((await method(...args)) as StreamRead),
    xRange: (method) => async (...args) => ((await method(...args)) as { id: string; message: Record<string, string> }[]).map((entry) => ({ id: entry.id, message: signer.verifyEntry(entry.message) ?? {} })),
    publish: (method) => (channel, payload) => method(channel, signer.signMessage(String(channel), Buffer.from(payload as Buffer))),
    sPublish: (method) => (channel, payload) => method(channel, signer.signMessage(String(channel), Buffer.from(payload as Buffer))),
    subscribe: (method) => (channels, listener, ...rest) => method(channels, verifiedListener(listener as PubSubListener, signer), ...rest),
    sSubscribe: (method) => (channels, listener, ...rest) => method(channels, verifiedListener(listener as PubSubListener, signer), ...rest),
    duplicate: (method) => (...args) => signingClient(method(...args) as RedisClientType, signer),
  };
  return new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const method = (value as (...args: unknown[]) => unknown).bind(target);
      const wrap = typeof property === 'string' ? wrappers[property] : undefined;
      return wrap === undefined ? method : wrap(method);
    },
  });
}

function verifiedListener(listener: PubSubListener, signer: BusSigner): PubSubListener {
  return (message, channel) => {
    const payload = signer.verifyMessage(channel.toString(), Buffer.from(message));
    if (payload !== null) listener(payload, channel);
  };
}
