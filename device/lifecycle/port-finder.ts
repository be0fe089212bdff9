/**
 * The one auto-detect policy of the port-based transports (`--device serial`,
 * `--device firmata` with no port): list the machine's ports, leave out those a transport
 * of this process holds (port-claims.ts) and those this finder learnt to skip, claim the
 * rest, ask each with the transport's own probe, keep the first that answers and release
 * the others. Which question to ask, and what counts as an answer, is the transport's.
 *
 *   const finder = new PortFinder({ holder: 'serial?baud=115200', probe, wanted: 'Knotmeter', ... });
 *   const { found, claim } = await finder.find();   // throws saying where it looked and what answered
 *
 * A port that opened but where nothing answered is skipped for SILENT_PORT_RETRY_MS
 * (opening a port resets an Arduino: not on every attempt); one with another device of
 * this kind (a Knotmeter with another id) while it stays plugged in.
 */
import { DEFAULT_SCAN_PATTERNS, isBuiltInUart, listSerialPorts, type ListedPort, type PortInfo } from '../protocol/port-discovery.ts';
import { claimPort, portHolder, type PortClaim } from './port-claims.ts';

/** Auto-detect: a port that did not answer is asked again after this long. */
export const SILENT_PORT_RETRY_MS = 10_000;

/** What a probe learnt of one port. `note` says it in a few words, for the error message (e.g. `no HELLO`). */
export type ProbeAnswer<Found> =
  | { readonly kind: 'found'; readonly found: Found }
  /** It opened; nothing of this kind answered. */
  | { readonly kind: 'silent'; readonly note: string }
  /** A device of this kind that this transport does not want (another id). */
  | { readonly kind: 'other'; readonly note: string }
  /** It would not open, or closed while asked: tried again next time. */
  | { readonly kind: 'failed'; readonly note: string };

export interface PortFinderOptions<Found> {
  /** Who claims the ports while they are asked and once found (the transport's spec). */
  readonly holder: string;
  /** Names scanned besides SerialPort.list() (default DEFAULT_SCAN_PATTERNS). */
  readonly patterns?: readonly string[];
  /** The port lister (default SerialPort.list). */
  readonly listPorts?: () => Promise<readonly ListedPort[]>;
  /** Asks one claimed port; never rejects. */
  probe(port: PortInfo): Promise<ProbeAnswer<Found>>;
  /** Lets go of something found but not taken (a second answer in one round). */
  discard(found: Found): Promise<void>;
  /** What to plug in and how to name it, for the message when there is no port to try. */
  whenNoPort(): string;
  /** The message when ports were asked and none answered; `answers` lists each port's note. */
  noAnswer(answers: string): string;
}

export interface FoundPort<Found> {
  readonly found: Found;
  readonly port: PortInfo;
  /** The port's claim: the caller holds it now, and releases it once the port is closed. */
  readonly claim: PortClaim;
}

export class PortFinder<Found> {
  readonly #options: PortFinderOptions<Found>;
  /** Ports not to ask again for a while, by real path, with until when (performance.now() ms). */
  readonly #skipped = new Map<string, number>();

  constructor(options: PortFinderOptions<Found>) {
    this.#options = options;
  }

  /** One round: the first port whose probe finds what it looks for; throws saying where it looked and what answered. */
  async find(): Promise<FoundPort<Found>> {
    const patterns = this.#options.patterns ?? DEFAULT_SCAN_PATTERNS;
    const { ports, listError } = await listSerialPorts({ patterns, ...(this.#options.listPorts === undefined ? {} : { list: this.#options.listPorts }) });
    this.#forgetGone(ports);
    const nowMs = performance.now();
    const held: string[] = [];
    const claimed: { port: PortInfo; claim: PortClaim }[] = [];
    for (const port of ports) {
      if (isBuiltInUart(port) || (this.#skipped.get(port.realPath) ?? 0) > nowMs) continue;
      const claim = claimPort(port.path, this.#options.holder);
      if (claim === null) held.push(`${port.path} (${portHolder(port.path) ?? 'held'})`);
      else claimed.push({ port, claim });
    }
    if (claimed.length === 0) {
      const looked = `SerialPort.list()${listError === null ? '' : ` (failed: ${listError})`} and ${patterns.join(', ')}`;
      const inUse = held.length === 0 ? '' : `; in use by other devices of this server: ${held.join(', ')}`;
      throw new Error(`no serial port to try (looked at ${looked}${inUse}): ${this.#options.whenNoPort()}`);
    }
    const answers = await Promise.all(claimed.map(({ port }) => this.#options.probe(port)));
    let chosen: FoundPort<Found> | null = null;
    for (const [index, answer] of answers.entries()) {
      const { port, claim } = claimed[index] ?? {};
      if (port === undefined || claim === undefined) continue;
      if (answer.kind === 'found' && chosen === null) {
        chosen = { found: answer.found, port, claim };
        continue;
      }
      if (answer.kind === 'found') await this.#options.discard(answer.found);
      if (answer.kind === 'silent') this.#skipped.set(port.realPath, nowMs + SILENT_PORT_RETRY_MS);
      if (answer.kind === 'other' || answer.kind === 'found') this.#skipped.set(port.realPath, Number.POSITIVE_INFINITY);
      claim.release();
    }
    if (chosen !== null) return chosen;
    const notes = answers.map((answer, index) => `${claimed[index]?.port.path ?? '?'}: ${answer.kind === 'found' ? 'found' : answer.note}`).join('; ');
    throw new Error(this.#options.noAnswer(notes));
  }

  /** A port unplugged is a new port when it comes back (another board may be on it). */
  #forgetGone(ports: readonly PortInfo[]): void {
    const present = new Set(ports.map((port) => port.realPath));
    for (const path of this.#skipped.keys()) if (!present.has(path)) this.#skipped.delete(path);
  }
}
