/**
 * Where calibration profiles live: one JSON file per device id under the data directory
 * (`DATA_DIR/calibration/1a2b3c4d.json`, the same `--data-dir` the server and
 * `npm run calibrate` take). A file keeps the device's whole history; saving appends a
 * new entry (a new fit never silently replaces the one before it) and writes the file
 * atomically (a temporary file, flushed, then renamed over the old one), so a crash
 * leaves the old file or the new one, never half of either.
 *
 * Every read is validated: a file that is not valid JSON, fails the schema or names
 * another device is a `ProfileFileError` naming the file. It is never treated as "no
 * profile", and saving over it is refused (its history would be lost). A folder that
 * cannot be read or written (permissions, a path through a file, a read-only disk) is a
 * `ProfileStorageError` naming the folder and what to do.
 *
 * `subscribe` tells listeners when a device's profile changes, from this process or from
 * another one (`npm run calibrate -- fit` while the server runs: a directory watch).
 * `MemoryProfileStore` keeps the same promises without files, for servers started
 * without a data directory (tests, embedding).
 */
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEVICE_ID_PATTERN } from '../device/device-id.ts';
import { writeFileAtomically } from './atomic-file.ts';
import { CALIBRATE_HINT } from './fit.ts';
import { PROFILE_FORMAT, PROFILE_VERSION, profileFileSchema, type ProfileEntry, type ProfileFile } from './profile.ts';

/** `data/` in the project (not under version control): `--data-dir`'s default, where `--db` goes too. */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../data', import.meta.url));
export const PROFILE_DIR_NAME = 'calibration';
/** A profile file changes in a burst of events (temp file, rename): one notice per burst. */
const WATCH_SETTLE_MS = 50;

export class ProfileFileError extends Error {
  override readonly name: string = 'ProfileFileError';
}

/**
 * The profile folder itself cannot be read or written (permissions, a path through a
 * file, a read-only disk): the machine's fault, not the file's contents.
 */
export class ProfileStorageError extends ProfileFileError {
  override readonly name = 'ProfileStorageError';
}

/** What to do about a folder that cannot be used, by the system's reason. */
function storageAdvice(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const reason = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${reason}): give your user access to it, or pass --data-dir with a folder you can write to`;
    case 'ENOTDIR':
    case 'EEXIST':
      return `a part of that path is a file, not a folder (${reason}): pass --data-dir with a folder`;
    case 'EROFS':
      return `the disk is read-only (${reason}): pass --data-dir with a folder on a writable disk`;
    case 'ENOSPC':
      return `the disk is full (${reason}): free some space, or pass --data-dir with a folder on another disk`;
    default:
      return `${reason}: check the folder, or pass --data-dir with another one`;
  }
}

function storageError(what: string, error: unknown): ProfileStorageError {
  return new ProfileStorageError(`${what}: ${storageAdvice(error)}`);
}

/** An error the file system gave for the folder rather than for one file's contents. */
function isStorageProblem(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== 'ENOENT';
}

export interface ProfileStore {
  /** Where profiles are kept, for messages (a directory, or `memory`). */
  readonly location: string;
  /** The device's profile file, or null when it has none. @throws ProfileFileError */
  read(deviceId: string): ProfileFile | null;
  /** The entry in force (the newest), or null. @throws ProfileFileError */
  active(deviceId: string): ProfileEntry | null;
  /** Adds an entry to the device's history and makes it the one in force. @throws ProfileFileError */
  append(deviceId: string, entry: ProfileEntry): ProfileFile;
  /** Calls `listener` with a device id whenever that device's profile may have changed. */
  subscribe(listener: (deviceId: string) => void): () => void;
  close(): void;
}

function checkDeviceId(deviceId: string): void {
  if (!DEVICE_ID_PATTERN.test(deviceId)) {
    throw new ProfileFileError(`"${deviceId}" is not a device id (8 lowercase hex digits, as the dashboard and \`npm run ports\` show it)`);
  }
}

function appended(deviceId: string, existing: ProfileFile | null, entry: ProfileEntry): ProfileFile {
  const first = existing?.history[0];
  if (first !== undefined && first.sensor !== entry.sensor) {
    throw new ProfileFileError(
      `device ${deviceId} was calibrated as ${first.sensor}, not ${entry.sensor}: one device id, one sensor kind (check --sensor)`,
    );
  }
  return { format: PROFILE_FORMAT, version: PROFILE_VERSION, deviceId, history: [...(existing?.history ?? []), entry] };
}

/** Validates a profile file's contents, naming the file in every error. */
export function parseProfileFile(text: string, shownAs: string, deviceId: string | null): ProfileFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ProfileFileError(`calibration profile ${shownAs} is not valid JSON (${error instanceof Error ? error.message : String(error)}); ${REPAIR_HINT}`);
  }
  const result = profileFileSchema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues.slice(0, 3).map((issue) => `${issue.path.join('.') || 'file'}: ${issue.message}`);
    throw new ProfileFileError(`calibration profile ${shownAs} is not valid (${issues.join('; ')}); ${REPAIR_HINT}`);
  }
  if (deviceId !== null && result.data.deviceId !== deviceId) {
    throw new ProfileFileError(`calibration profile ${shownAs} is for device ${result.data.deviceId}, not ${deviceId}; ${REPAIR_HINT}`);
  }
  return result.data;
}

const REPAIR_HINT = `repair it or move it out of the way (a new calibration then starts a new history: ${CALIBRATE_HINT}); it is not replaced by the default curve`;

export class FileProfileStore implements ProfileStore {
  readonly location: string;
  readonly #listeners = new Set<(deviceId: string) => void>();
  #watcher: FSWatcher | null = null;
  readonly #pending = new Map<string, NodeJS.Timeout>();

  /** @param dataDir the data directory; profiles go in its `calibration/` folder */
  constructor(dataDir: string) {
    this.location = join(dataDir, PROFILE_DIR_NAME);
  }

  pathOf(deviceId: string): string {
    checkDeviceId(deviceId);
    return join(this.location, `${deviceId}.json`);
  }

  read(deviceId: string): ProfileFile | null {
    const path = this.pathOf(deviceId);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return null;
      if (isStorageProblem(error)) throw storageError(`cannot read the calibration profile ${path}`, error);
      throw new ProfileFileError(`calibration profile ${path} cannot be read (${error instanceof Error ? error.message : String(error)})`);
    }
    return parseProfileFile(text, path, deviceId);
  }

  active(deviceId: string): ProfileEntry | null {
    return this.read(deviceId)?.history.at(-1) ?? null;
  }

  append(deviceId: string, entry: ProfileEntry): ProfileFile {
    const path = this.pathOf(deviceId);
    const file = appended(deviceId, this.read(deviceId), entry);
    try {
      mkdirSync(this.location, { recursive: true });
    } catch (error) {
      throw storageError(`cannot save the calibration profile ${path}: the folder ${this.location} cannot be made`, error);
    }
    try {
      writeFileAtomically(path, `${JSON.stringify(file, null, 2)}\n`);
    } catch (error) {
      throw storageError(`cannot save the calibration profile ${path}`, error);
    }
    this.#notify(deviceId);
    return file;
  }

  /**
   * Refuses a profile folder that could not be saved in, before any work that would be
   * lost (the wizard checks before it opens the device). Creates nothing: it checks the
   * folder, or the nearest folder above it that exists.
   * @throws ProfileStorageError naming the folder and what to do
   */
  checkWritable(): void {
    let folder = this.location;
    for (;;) {
      try {
        const info = statSync(folder);
        if (!info.isDirectory()) throw Object.assign(new Error(`${folder} is a file`), { code: 'ENOTDIR' });
        accessSync(folder, constants.W_OK | constants.X_OK);
        return;
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        const parent = dirname(folder);
        if (code === 'ENOENT' && parent !== folder) {
          folder = parent;
          continue;
        }
        throw storageError(`cannot save calibration profiles in ${this.location}`, error);
      }
    }
  }

  /**
   * Validates every profile file in the directory, so a server refuses to start on a
   * corrupt one rather than running that device uncalibrated without a word.
   * @returns the device ids that have a profile
   * @throws ProfileFileError naming the first bad file
   */
  checkAll(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.location);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return [];
      throw storageError(`cannot list the calibration profiles in ${this.location}`, error);
    }
    const deviceIds = names.filter((name) => name.endsWith('.json')).map((name) => name.slice(0, -'.json'.length));
    for (const deviceId of deviceIds) {
      if (!DEVICE_ID_PATTERN.test(deviceId)) {
        throw new ProfileFileError(`${join(this.location, `${deviceId}.json`)} is not named after a device id (8 lowercase hex digits): rename or remove it`);
      }
      this.read(deviceId);
    }
    return deviceIds.sort();
  }

  /** Every profile file that cannot be used, each problem naming its file (for the server's log at start). */
  problems(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.location);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return [];
      return [`cannot list the calibration profiles in ${this.location} (${error instanceof Error ? error.message : String(error)})`];
    }
    const problems: string[] = [];
    for (const name of names.filter((candidate) => candidate.endsWith('.json'))) {
      const deviceId = name.slice(0, -'.json'.length);
      try {
        if (!DEVICE_ID_PATTERN.test(deviceId)) throw new ProfileFileError(`${join(this.location, name)} is not named after a device id (8 lowercase hex digits): rename or remove it`);
        this.read(deviceId);
      } catch (error) {
        problems.push(error instanceof Error ? error.message : String(error));
      }
    }
    return problems;
  }

  subscribe(listener: (deviceId: string) => void): () => void {
    this.#listeners.add(listener);
    this.#startWatching();
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#watcher?.close();
    this.#watcher = null;
    for (const timer of this.#pending.values()) clearTimeout(timer);
    this.#pending.clear();
    this.#listeners.clear();
  }

  /** Another process (the calibrate command) may save while the server runs: watch the directory. */
  #startWatching(): void {
    if (this.#watcher !== null) return;
    mkdirSync(this.location, { recursive: true });
    this.#watcher = watch(this.location, (_event, name) => {
      const deviceId = name?.endsWith('.json') === true ? name.slice(0, -'.json'.length) : '';
      if (!DEVICE_ID_PATTERN.test(deviceId)) return;
      clearTimeout(this.#pending.get(deviceId));
      this.#pending.set(
        deviceId,
        setTimeout(() => {
          this.#pending.delete(deviceId);
          this.#notify(deviceId);
        }, WATCH_SETTLE_MS),
      );
    });
    this.#watcher.on('error', () => {
      // The directory went away: saves from this process still notify directly.
      this.#watcher?.close();
      this.#watcher = null;
    });
  }

  #notify(deviceId: string): void {
    for (const listener of this.#listeners) listener(deviceId);
  }
}

/** Profiles kept in memory only: nothing read from or written to disk. */
export class MemoryProfileStore implements ProfileStore {
  readonly location = 'memory';
  readonly #files = new Map<string, ProfileFile>();
  readonly #listeners = new Set<(deviceId: string) => void>();

  read(deviceId: string): ProfileFile | null {
    checkDeviceId(deviceId);
    return this.#files.get(deviceId) ?? null;
  }

  active(deviceId: string): ProfileEntry | null {
    return this.read(deviceId)?.history.at(-1) ?? null;
  }

  append(deviceId: string, entry: ProfileEntry): ProfileFile {
    const file = appended(deviceId, this.read(deviceId), entry);
    this.#files.set(deviceId, file);
    for (const listener of this.#listeners) listener(deviceId);
    return file;
  }

  subscribe(listener: (deviceId: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#listeners.clear();
  }
}
