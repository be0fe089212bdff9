/**
 * Replacing a small file all at once: the text goes into a new temporary file beside it,
 * is flushed to disk, and only then renamed over the old one, so a crash or a full disk
 * leaves the old file or the new one, never half of either. Calibration profiles, device
 * names and the pairing file are kept this way.
 *
 *   mkdirSync(dirname(path), { recursive: true });           // the folder is the caller's
 *   writeFileAtomically(path, `${JSON.stringify(file)}\n`, { mode: 0o600 });
 *
 * Pipeline position: beside the pipeline, under calibration/ and server/ (both use it).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Writes `text` to `path` atomically, the new file with `mode` (0o600 for a secret; the
 * default is node's, 0o666 less the umask).
 * @throws the fs error (ENOSPC, EACCES, EISDIR...) unchanged, for the caller to word;
 *   the old file is then untouched and no temporary file is left.
 */
export function writeFileAtomically(path: string, text: string, { mode = 0o666 }: { readonly mode?: number } = {}): void {
  // A name of its own ('wx': never an old file reused), so the mode is this call's and a
  // temporary file left by a crashed process is neither read nor written over.
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fd = openSync(temporary, 'wx', mode);
    try {
      // writeFileSync loops over short writes and throws when the disk is full; a bare
      // writeSync would return a short count and the rename would put half a file in place.
      writeFileSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {
      // Never made, or renamed already: nothing to clean up.
    }
    throw error;
  }
  syncFolder(dirname(path));
}

/** Flushes the rename itself, so the new file is still there after a power cut. */
function syncFolder(folder: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(folder, 'r');
    fsyncSync(fd);
  } catch {
    // Best effort: the new file is in place either way; some file systems refuse to sync a folder.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
