/**
 * Where replays get their recordings: `replay:SESSION_ID` from the session store (the
 * `--db` file), `replay:FILE.csv` from the trace CSV reader. The server hands this to the
 * transport registry, so the replay transport in device/ paces samples it never reads.
 *
 *   createTransport('replay:12', { instance: 0, seed: undefined, recordings: replaySources(store) });
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ReplayNotFound, type ReplaySource, type ReplayTarget } from '../../device/transports/replay.ts';
import type { SessionStore } from '../recording/store.ts';
import { readTraceCsv } from './trace-csv.ts';

/**
 * The recording each replay target names. `sessions` null: the database cannot be read,
 * and a session replay is refused saying so.
 */
export function replaySources(sessions: SessionStore | null): (target: ReplayTarget) => ReplaySource {
  return (target) => (target.kind === 'file' ? traceFile(target.path) : recordedSession(sessions, target.sessionId));
}

/** @throws ReplayNotFound when there is no such file. */
function traceFile(path: string): ReplaySource {
  if (!existsSync(path) || !statSync(path).isFile()) throw new ReplayNotFound(`no such file ${resolve(path)}`);
  return { open: () => Promise.resolve(readTraceCsv(path)) };
}

/** @throws ReplayNotFound when there is no database; `open` rejects with it when there is no such session. */
function recordedSession(sessions: SessionStore | null, sessionId: number): ReplaySource {
  if (sessions === null) throw new ReplayNotFound("replaying a recorded session needs the session database, which cannot be read (see the recorder's error)");
  return {
    async open() {
      if ((await sessions.getSession(sessionId)) === null) {
        throw new ReplayNotFound(`there is no recorded session ${sessionId} in ${sessions.location} (GET /api/sessions lists them)`);
      }
      return sessions.readSamples(sessionId);
    },
  };
}
