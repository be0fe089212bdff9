/**
 * Every refused attempt goes to the log, without letting a flood flood the log: the first
 * refusal of a kind from a client is logged at once (warn), later ones are counted and
 * summed up at most once per `everyMs` for that client and kind.
 *
 *   const refusals = new RefusalLog(logger);
 *   refusals.refused('foreign-host', '192.0.2.7', 'Host evil.example');
 */
/** What the log needs of a logger (pino's loggers have it). */
export interface WarnLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

export type RefusalKind = 'foreign-host' | 'foreign-origin' | 'rate-limit' | 'unpaired' | 'viewer-write';

interface Tally {
  lastLoggedMs: number;
  unlogged: number;
}

/** At most this many client/kind pairs are remembered; the oldest goes first. */
const MAX_TALLIES = 1000;

export class RefusalLog {
  readonly #logger: WarnLogger;
  readonly #everyMs: number;
  readonly #nowMs: () => number;
  readonly #tallies = new Map<string, Tally>();

  constructor(logger: WarnLogger, everyMs = 10_000, nowMs: () => number = () => performance.now()) {
    if (!(everyMs > 0)) throw new TypeError(`everyMs must be a positive number of milliseconds (got ${everyMs})`);
    this.#logger = logger;
    this.#everyMs = everyMs;
    this.#nowMs = nowMs;
  }

  refused(kind: RefusalKind, client: string, detail: string): void {
    const key = `${kind} ${client}`;
    const now = this.#nowMs();
    const tally = this.#tallies.get(key);
    if (tally !== undefined && now - tally.lastLoggedMs < this.#everyMs) {
      tally.unlogged++;
      return;
    }
    const earlier = tally?.unlogged ?? 0;
    this.#logger.warn({ refused: kind, client, ...(earlier > 0 ? { alsoRefusedSinceLastLine: earlier } : {}) }, `refused: ${detail}`);
    this.#tallies.delete(key);
    this.#tallies.set(key, { lastLoggedMs: now, unlogged: 0 });
    if (this.#tallies.size > MAX_TALLIES) this.#tallies.delete(this.#tallies.keys().next().value ?? key);
  }
}
