/**
 * Pairing: how a tablet on the LAN earns a credential. The server makes a one-time code
 * (5 minutes, one use) for a role; the tablet opens `/pair?code=CODE` and gets a
 * long-lived token in a cookie. Only the token's SHA-256 is kept, in DATA_DIR/pairing.json
 * (written atomically, mode 600), so a copy of the data folder pairs nobody.
 *
 * Codes made by the server live in its memory. `npm run pair -- new` (another process)
 * cannot reach that memory: it writes its code's hash into pairing.json, which the server
 * re-reads whenever the file changes (as it does after `npm run pair -- revoke NAME`).
 *
 *   const pairing = new PairingStore(join(dataDir, 'pairing.json'));
 *   const { code } = pairing.newCode('viewer');      // print `${url}/pair?code=${code}`
 *   const paired = pairing.redeem(code);             // { token, client } once, then null
 *   pairing.authenticate(paired.token)?.role;        // 'viewer'
 *   pairing.revoke(paired.client.name);              // true; the token is refused from now on
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { writeFileAtomically } from '../../calibration/atomic-file.ts';

export const ROLES = ['viewer', 'operator'] as const;
export type Role = (typeof ROLES)[number];

/** How long a pairing code may be used. */
export const CODE_LIFETIME_MS = 5 * 60_000;
/** A paired client's "last seen" is written to disk at most this often (it is kept in memory between). */
const LAST_SEEN_WRITE_MS = 60_000;
/** Base32 without look-alikes: a code may be read aloud or typed. */
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const CODE_LENGTH = 12;
/** A client's name: what `npm run pair -- revoke NAME` takes. */
export const CLIENT_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,39}$/;

export interface PairedClient {
  readonly name: string;
  readonly role: Role;
  /** ISO 8601 */
  readonly pairedAt: string;
  /** ISO 8601, or null before its first request after pairing. */
  readonly lastSeenAt: string | null;
}

const storedClientSchema = z.object({
  name: z.string().regex(CLIENT_NAME_PATTERN),
  role: z.enum(ROLES),
  tokenSha256: z.string().regex(/^[0-9a-f]{64}$/),
  pairedAt: z.string(),
  lastSeenAt: z.string().nullable(),
});
const storedCodeSchema = z.object({ codeSha256: z.string().regex(/^[0-9a-f]{64}$/), role: z.enum(ROLES), expiresAtMs: z.number() });
const pairingFileSchema = z.object({ version: z.literal(1), clients: z.array(storedClientSchema), pendingCodes: z.array(storedCodeSchema).default([]) });
type StoredClient = z.infer<typeof storedClientSchema>;
type StoredCode = z.infer<typeof storedCodeSchema>;

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function randomCode(): string {
  const bytes = randomBytes(CODE_LENGTH);
  // 256 is not a multiple of 31: the tiny bias costs well under a bit of the code's ~59.
  return [...bytes].map((byte) => CODE_ALPHABET[byte % CODE_ALPHABET.length]).join('');
}

/** A code as typed: upper case, without spaces or dashes. */
export function normalCode(text: string): string {
  return text.toUpperCase().replace(/[\s-]/g, '');
}

function publicClient(client: StoredClient): PairedClient {
  return { name: client.name, role: client.role, pairedAt: client.pairedAt, lastSeenAt: client.lastSeenAt };
}

export class PairingError extends Error {}

export class PairingStore {
  /** null: kept in memory only (no --data-dir). */
  readonly file: string | null;
  readonly #now: () => number;
  readonly #codes = new Map<string, { role: Role; expiresAtMs: number }>();
  #clients: StoredClient[] = [];
  #pendingCodes: StoredCode[] = [];
  #fileStamp = '';
  readonly #lastSeenWrittenMs = new Map<string, number>();

  constructor(file: string | null, now: () => number = Date.now) {
    this.file = file;
    this.#now = now;
    this.#reloadIfChanged();
  }

  /** A one-time code for `role`, valid for CODE_LIFETIME_MS, kept in this process's memory. */
  newCode(role: Role): { readonly code: string; readonly role: Role; readonly expiresAtMs: number } {
    this.#forgetExpiredCodes();
    const code = randomCode();
    const expiresAtMs = this.#now() + CODE_LIFETIME_MS;
    this.#codes.set(sha256(code), { role, expiresAtMs });
    return { code, role, expiresAtMs };
  }

  /** A one-time code written into the pairing file, for a server running in another process to accept. */
  newPendingCode(role: Role): { readonly code: string; readonly role: Role; readonly expiresAtMs: number } {
    this.#reloadIfChanged();
    const code = randomCode();
    const expiresAtMs = this.#now() + CODE_LIFETIME_MS;
    this.#pendingCodes = [...this.#pendingCodes.filter((pending) => pending.expiresAtMs > this.#now()), { codeSha256: sha256(code), role, expiresAtMs }];
    this.#save();
    return { code, role, expiresAtMs };
  }

  /**
   * Exchanges a code for a token (once): null for a code that is unknown, used or expired.
   * `name`: what to call the client (made unique); absent: `ROLE-N`.
   */
  redeem(code: string, name?: string): { readonly token: string; readonly client: PairedClient } | null {
    this.#reloadIfChanged();
    this.#forgetExpiredCodes();
    const hash = sha256(normalCode(code));
    let role: Role | null = null;
    const memory = this.#codes.get(hash);
    if (memory !== undefined) {
      this.#codes.delete(hash);
      role = memory.role;
    }
    const pending = this.#pendingCodes.find((candidate) => candidate.codeSha256 === hash && candidate.expiresAtMs > this.#now());
    if (pending !== undefined) {
      this.#pendingCodes = this.#pendingCodes.filter((candidate) => candidate !== pending);
      role ??= pending.role;
    }
    if (role === null) return null;
    const token = randomBytes(32).toString('base64url');
    const stored: StoredClient = { name: this.#uniqueName(name, role), role, tokenSha256: sha256(token), pairedAt: new Date(this.#now()).toISOString(), lastSeenAt: null };
    this.#clients = [...this.#clients, stored];
    this.#save();
    return { token, client: publicClient(stored) };
  }

  /** The paired client holding this token, or null (unknown or revoked). Notes when it was last seen. */
  authenticate(token: string | undefined): PairedClient | null {
    if (token === undefined || token.length === 0 || token.length > 200) return null;
    this.#reloadIfChanged();
    const hash = sha256(token);
    const client = this.#clients.find((candidate) => candidate.tokenSha256 === hash);
    if (client === undefined) return null;
    const nowMs = this.#now();
    client.lastSeenAt = new Date(nowMs).toISOString();
    if (nowMs - (this.#lastSeenWrittenMs.get(client.name) ?? -Infinity) >= LAST_SEEN_WRITE_MS) {
      this.#lastSeenWrittenMs.set(client.name, nowMs);
      this.#save();
    }
    return publicClient(client);
  }

  list(): PairedClient[] {
    this.#reloadIfChanged();
    return this.#clients.map(publicClient);
  }

  /** Forgets a paired client: false when no client has that name. */
  revoke(name: string): boolean {
    this.#reloadIfChanged();
    const kept = this.#clients.filter((client) => client.name !== name);
    if (kept.length === this.#clients.length) return false;
    this.#clients = kept;
    this.#save();
    return true;
  }

  #uniqueName(wanted: string | undefined, role: Role): string {
    const taken = new Set(this.#clients.map((client) => client.name));
    const base = wanted !== undefined && CLIENT_NAME_PATTERN.test(wanted) ? wanted.slice(0, 36) : role;
    if (wanted !== undefined && CLIENT_NAME_PATTERN.test(wanted) && !taken.has(wanted)) return wanted;
    for (let n = 1; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
  }

  #forgetExpiredCodes(): void {
    const nowMs = this.#now();
    for (const [hash, code] of this.#codes) if (code.expiresAtMs <= nowMs) this.#codes.delete(hash);
  }

  /** Re-reads the file when another process (npm run pair) has changed it. */
  #reloadIfChanged(): void {
    if (this.file === null) return;
    let stamp: string;
    try {
      const stat = statSync(this.file);
      stamp = `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return;
      throw error;
    }
    if (stamp === this.#fileStamp) return;
    let parsed;
    try {
      parsed = pairingFileSchema.parse(JSON.parse(readFileSync(this.file, 'utf8')));
    } catch (error) {
      const reason = error instanceof z.ZodError ? error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ') : error instanceof Error ? error.message : String(error);
      throw new PairingError(`${this.file} is not a pairing file (${reason.slice(0, 200)}): move it away to start pairing afresh`);
    }
    // Last-seen times newer in memory than on disk are kept.
    const seen = new Map(this.#clients.map((client) => [client.tokenSha256, client.lastSeenAt]));
    this.#clients = parsed.clients.map((client) => ({ ...client, lastSeenAt: [client.lastSeenAt, seen.get(client.tokenSha256) ?? null].filter((at) => at !== null).sort().at(-1) ?? null }));
    this.#pendingCodes = parsed.pendingCodes;
    this.#fileStamp = stamp;
  }

  /** Writes the file atomically, readable by this user only (it holds token hashes). */
  #save(): void {
    if (this.file === null) return;
    mkdirSync(dirname(this.file), { recursive: true });
    const contents = `${JSON.stringify({ version: 1, clients: this.#clients, pendingCodes: this.#pendingCodes.filter((code) => code.expiresAtMs > this.#now()) }, null, 2)}\n`;
    writeFileAtomically(this.file, contents, { mode: 0o600 });
    const stat = statSync(this.file);
    this.#fileStamp = `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
  }
}
