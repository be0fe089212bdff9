/**
 * Recording, assembled for the server: opens the session store its target names (the
 * SQLite file of `--db`, or the PostgreSQL database of `--store`: `openPostgresRecording`), marks
 * what a previous run left `recording` as `interrupted`, and starts the recorder. A
 * database that cannot be written (read-only file or folder, a file from a newer
 * Knotmeter) does not stop the server: live view and alerts go on, the dashboard shows
 * why nothing is recorded, and recorded sessions stay readable if the file can be read.
 *
 * One server records into a file at a time: a lock file beside it (`FILE.lock`, holding
 * the server's pid) stops a second server from marking the first one's sessions
 * interrupted (the second runs and reads, but records nothing, and says so); a lock left
 * by a server that died (kill -9) is taken over.
 *
 * Pipeline position: builds the recorder (a pipeline listener) and the store the REST
 * API reads.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RecorderStatus } from '../contract/live-events.ts';
import type { Logger } from '../log.ts';
import { describeStoreError, Recorder } from './recorder.ts';
import { PostgresSessionStorage } from './postgres/postgres-store.ts';
import { sessionStore } from './sessions.ts';
import { openSqliteStore } from './sqlite-store.ts';
import type { SessionStore } from './store.ts';
import type { StoreTarget } from './store-target.ts';

/** `data/knotmeter.db` in the project (data/ is not under version control): `--db`'s default. */
export const DEFAULT_DB_PATH = fileURLToPath(new URL('../../data/knotmeter.db', import.meta.url));

export interface RecordingOptions {
  /** Where sessions are recorded: the SQLite file (`--db`) or the PostgreSQL database (`--store`). */
  readonly target: StoreTarget;
  readonly sessionIdleMs?: number;
  readonly logger: Logger;
  readonly onStatus: (status: RecorderStatus) => void;
}

export interface Recording {
  /** For reading (the REST API, replays); null when the file cannot even be read. */
  readonly store: SessionStore | null;
  /** Null when the file cannot be written: `status()` says why. */
  readonly recorder: Recorder | null;
  status(): RecorderStatus;
  close(): Promise<void>;
}

export class DatabaseInUseError extends Error {
  override readonly name = 'DatabaseInUseError';
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code === 'EPERM';
  }
}

/**
 * Takes `FILE.lock` for this process; returns the function that releases it.
 * @throws DatabaseInUseError when a live process holds it.
 */
function lockDatabase(dbPath: string): () => void {
  const lockPath = `${dbPath}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const descriptor = openSync(lockPath, 'wx');
      writeSync(descriptor, `${process.pid}\n`);
      closeSync(descriptor);
      return () => rmSync(lockPath, { force: true });
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
      if (Number.isInteger(holder) && holder !== process.pid && processIsAlive(holder)) {
        throw new DatabaseInUseError(`another Knotmeter server (pid ${holder}) records into it: stop that one, or restart this one with --db and another file`);
      }
      // Left by a server that died: take it over.
      rmSync(lockPath, { force: true });
    }
  }
  throw new DatabaseInUseError(`its lock ${lockPath} cannot be taken: remove it if no Knotmeter server is running`);
}

/** Never throws for the database: whatever keeps it from recording becomes the status's error. */
export async function openRecording(options: RecordingOptions): Promise<Recording> {
  const { target, logger } = options;
  if (target.kind === 'postgres') return openPostgresRecording(target.url, options);
  const dbPath = target.path;
  let unlock: () => void = () => undefined;
  let store: SessionStore;
  try {
    // A fresh clone has no data/, and --db may name a new folder: the lock goes beside the file.
    mkdirSync(dirname(dbPath), { recursive: true });
    unlock = lockDatabase(dbPath);
    store = openSqliteStore(dbPath);
  } catch (error) {
    unlock();
    const problem = describeStoreError(dbPath, error);
    logger.error({ err: error }, problem);
    let readable: SessionStore | null = null;
    try {
      readable = openSqliteStore(dbPath, { readonly: true });
    } catch (readError) {
      logger.warn({ err: readError }, `recorded sessions in ${dbPath} cannot be read either`);
    }
    const status: RecorderStatus = { state: 'error', database: dbPath, error: problem, devices: [] };
    options.onStatus(status);
    return {
      store: readable,
      recorder: null,
      status: () => status,
      close: async () => {
        await readable?.close();
      },
    };
  }
  const recording = await startRecorder(store, options, { database: dbPath });
  return {
    ...recording,
    async close() {
      await recording.close();
      unlock();
    },
  };
}

/** The recorder over an open store: sessions a dead run left open are marked interrupted first. */
async function startRecorder(store: SessionStore, options: RecordingOptions, where: Record<string, unknown>): Promise<Recording> {
  const { logger } = options;
  const recorder = new Recorder({ store, logger: logger.child({ part: 'recorder' }), onStatus: options.onStatus, ...(options.sessionIdleMs === undefined ? {} : { sessionIdleMs: options.sessionIdleMs }) });
  await recorder.recoverInterrupted();
  logger.info(where, 'recording sessions');
  return {
    store,
    recorder,
    status: () => recorder.status(),
    async close() {
      await recorder.close();
      await store.close();
    },
  };
}

/**
 * Recording into PostgreSQL: many servers record into one database at once (no lock
 * file: each marks interrupted only what dead servers left, see `postgres-store.ts`). A
 * database that does not answer at start is not fatal either: the recorder keeps samples
 * in memory (bounded) and writes them once it answers.
 */
async function openPostgresRecording(url: string, options: RecordingOptions): Promise<Recording> {
  const storage = new PostgresSessionStorage(url);
  return startRecorder(sessionStore(storage), options, { database: storage.location, server: storage.serverId });
}
