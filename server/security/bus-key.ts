/**
 * `--bus-key FILE`: the clinic's bus key, which signs every message between its servers
 * (`live/bus-signing.ts`). Every server of a clinic reads the same key from a file of its
 * own; it is read and checked at start, so a mistake is named before anything listens: a
 * missing or unreadable file, a key too short to be a secret, a file other users of the
 * host may read.
 *
 *   openssl rand -hex 32 > /etc/knotmeter/bus.key && chmod 600 /etc/knotmeter/bus.key
 *   const key = readBusKey('/etc/knotmeter/bus.key'); // the key's bytes
 */
import { readFileSync, statSync } from 'node:fs';
import { UsageError } from '../errors.ts';

/** Shortest key taken: 32 characters, e.g. 16 random bytes in hex (`openssl rand -hex 32` gives 64). */
export const MIN_BUS_KEY_CHARS = 32;
const MAKE_ONE = 'make one with openssl rand -hex 32 > FILE && chmod 600 FILE, and copy the same file to every server of the clinic';

/** Reads and checks the key file. @throws UsageError naming the flag, the file and what is wrong. */
export function readBusKey(path: string): Buffer {
  let text: string;
  let mode: number;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : error instanceof Error ? error.message : String(error);
    throw new UsageError(`--bus-key ${path}: cannot read it (${reason}): ${MAKE_ONE}`);
  }
  // Like ssh with a private key: a key other users can read is no secret.
  if ((mode & 0o077) !== 0) throw new UsageError(`--bus-key ${path} can be read by other users of this host (mode ${(mode & 0o777).toString(8)}): chmod 600 ${path}`);
  const key = text.trim();
  if (key.length < MIN_BUS_KEY_CHARS) throw new UsageError(`--bus-key ${path} holds ${key.length} characters, fewer than the ${MIN_BUS_KEY_CHARS} a bus key needs: ${MAKE_ONE}`);
  return Buffer.from(key);
}
