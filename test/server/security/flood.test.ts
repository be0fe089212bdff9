// Floods of every kind of request against the real server in a child process (run with
// --expose-gc so its memory can be measured after a full collection): live-stream
// requests that would each change state and be broadcast (selectPreset, labelHold,
// calibration), and REST writes. Each flood is refused beyond the rate limit with
// {ok:false} naming it (or 429), an observer receives broadcasts bounded by the limit and
// not by the flood, a request that changes nothing broadcasts nothing, and the server's
// memory returns near its baseline.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REST_WRITE_LIMIT } from '../../../server/api/routes.ts';
import type { ClientToServerEvents, ServerToClientEvents } from '../../../server/contract/live-events.ts';
import { SOCKET_REQUEST_LIMITS } from '../../../server/security/socket-guard.ts';
import { seedPastSessions, tempDir } from '../recording/support.ts';
import { REPO_ROOT, waitForLine } from '../../support/cli.ts';
import type { MeasuredMemory } from '../../support/measured-server.ts';
import { until } from '../../support/until.ts';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;
type Counted = 'session' | 'devices' | 'recorder' | 'calibration';

const FLOOD = 4000;
const MB = 1024 * 1024;
/** After a full collection the heap is back within this of where it was before the flood. */
const HEAP_SLACK_BYTES = 16 * MB;
/** RSS shrinks less eagerly than the heap (freed pages may stay mapped): a looser bound, still far below a leak of every request. */
const RSS_SLACK_BYTES = 96 * MB;

/** The most requests the limit lets through in `elapsedMs`: the burst, the refill, and one for rounding. */
function allowedIn(elapsedMs: number): number {
  return SOCKET_REQUEST_LIMITS.burst + Math.ceil((elapsedMs / 1000) * SOCKET_REQUEST_LIMITS.perSecond) + 1;
}

describe('floods', { timeout: 120_000 }, () => {
  let dir: ReturnType<typeof tempDir>;
  let child: ChildProcess;
  let url = '';
  let deviceId = '';
  let observer: Client;
  let flooder: Client;
  const counts: Record<Counted, number> = { session: 0, devices: 0, recorder: 0, calibration: 0 };

  const measure = async (): Promise<MeasuredMemory> => {
    const answer = once(child, 'message') as Promise<[MeasuredMemory]>;
    child.send('measure');
    return (await answer)[0];
  };

  /** Every broadcast sent before this point has reached the observer: its own request's answer comes after them on its connection. */
  const observerCaughtUp = async (): Promise<void> => {
    await observer.timeout(10_000).emitWithAck('selectPreset', { deviceId: '', preset: 'neck' });
  };

  /** Sends `FLOOD` requests without waiting, then waits for every answer; how many were applied, how long it took. */
  const flood = async (send: (index: number, reply: (answer: unknown) => void) => void): Promise<{ applied: number; refusals: string[]; elapsedMs: number }> => {
    const answers: unknown[] = [];
    const startedMs = performance.now();
    for (let index = 0; index < FLOOD; index++) send(index, (answer) => answers.push(answer));
    await until(() => answers.length === FLOOD, `answers to all ${FLOOD} requests`, 60_000);
    const elapsedMs = performance.now() - startedMs;
    const refusals = answers.filter((answer): answer is { ok: false; error: string } => (answer as { ok?: unknown }).ok === false).map((answer) => answer.error);
    return { applied: FLOOD - refusals.length, refusals, elapsedMs };
  };

  /** Asks (one request at a time, at the polling rhythm) until the rate limit lets one through and it is answered ok. */
  const acceptedOnce = async (ask: () => Promise<unknown>): Promise<void> => {
    let pending = false;
    let accepted = false;
    await until(() => {
      if (!pending && !accepted) {
        pending = true;
        void ask().then((reply) => {
          accepted = (reply as { ok?: unknown }).ok === true;
          pending = false;
        });
      }
      return accepted;
    }, 'a request let through by the rate limit and answered ok');
  };

  const expectBoundedMemory = async (baseline: MeasuredMemory): Promise<void> => {
    const after = await measure();
    expect(after.heapUsedBytes - baseline.heapUsedBytes, 'heap growth after the flood').toBeLessThan(HEAP_SLACK_BYTES);
    expect(after.rssBytes - baseline.rssBytes, 'RSS growth after the flood').toBeLessThan(RSS_SLACK_BYTES);
  };

  beforeAll(async () => {
    dir = tempDir('knotmeter-flood-');
    const db = join(dir.path, 'flood.db');
    await seedPastSessions(db, [{ startedAtMs: Date.parse('2026-11-02T08:00:00Z'), holds: [{ durationMs: 30_000, peakN: 20, bodyArea: 'neck', knot: null }] }]);
    child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'test/support/measured-server.ts', JSON.stringify({ db, devices: ['sim:idle?rate=50'] })], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    url = (await waitForLine(child, /Knotmeter dashboard: (\S+)/))[1] ?? '';
    observer = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
    flooder = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
    observer.on('devices', (devices) => {
      counts.devices++;
      deviceId = devices[0]?.deviceId ?? deviceId;
    });
    observer.on('session', () => counts.session++);
    observer.on('recorder', () => counts.recorder++);
    observer.on('calibration', () => counts.calibration++);
    await until(() => deviceId !== '' && counts.calibration > 0 && counts.recorder > 0 && flooder.connected, 'the device, its calibration and the recorder on the observer');
  });
  afterAll(async () => {
    observer.close();
    flooder.close();
    if (child.exitCode === null && child.signalCode === null) {
      // 'exit', not 'close': the server has stopped once its process has; its stdout, no
      // longer read since its URL line, need not be drained for that.
      const exited = once(child, 'exit');
      child.disconnect();
      await exited;
    }
    dir.remove();
  });

  it('selectPreset: a preset already in force broadcasts nothing; a flood of changes is applied and broadcast at the rate limit', async () => {
    await observerCaughtUp();
    const before = { ...counts };
    const same = await flood((_index, reply) => flooder.emit('selectPreset', { deviceId, preset: 'shoulders' }, reply));
    await observerCaughtUp();
    expect(same.refusals.every((error) => /rate limit of 20 requests at once and 5 a second/.test(error))).toBe(true);
    expect(counts.session - before.session).toBe(0);
    expect(counts.devices - before.devices).toBe(0);

    const baseline = await measure();
    const sessionsBefore = counts.session;
    const changes = await flood((index, reply) => flooder.emit('selectPreset', { deviceId, preset: index % 2 === 0 ? 'neck' : 'shoulders' }, reply));
    await observerCaughtUp();
    expect(changes.refusals.length).toBeGreaterThan(0);
    expect(changes.refusals[0]).toMatch(/^selectPreset refused, nothing changed: rate limit of 20 requests at once and 5 a second after that per client/);
    expect(changes.applied).toBeLessThanOrEqual(allowedIn(changes.elapsedMs));
    // One session snapshot per applied change, none per refused one.
    expect(counts.session - sessionsBefore).toBeLessThanOrEqual(changes.applied);
    await expectBoundedMemory(baseline);
  });

  it('labelHold: the label in force broadcasts nothing; a flood of changes is bounded by the rate limit', async () => {
    await observerCaughtUp();
    const unchanged = counts.recorder;
    // The label in force (none yet), asked again and again until the limit lets some through: answered ok, nothing sent.
    await acceptedOnce(() => flooder.timeout(5000).emitWithAck('labelHold', { deviceId, bodyArea: null, knot: null }));
    await observerCaughtUp();
    expect(counts.recorder).toBe(unchanged);

    const baseline = await measure();
    const before = counts.recorder;
    const changes = await flood((index, reply) => flooder.emit('labelHold', { deviceId, bodyArea: index % 2 === 0 ? 'neck' : 'shoulders', knot: null }, reply));
    await observerCaughtUp();
    expect(changes.refusals[0]).toMatch(/^labelHold refused, nothing changed: rate limit/);
    expect(changes.applied).toBeLessThanOrEqual(allowedIn(changes.elapsedMs));
    expect(counts.recorder - before).toBeLessThanOrEqual(changes.applied);
    await expectBoundedMemory(baseline);
  });

  it('calibration requests: a flood is refused beyond the rate limit and its broadcasts are bounded by it', async () => {
    await observerCaughtUp();
    const baseline = await measure();
    const before = counts.calibration;
    const changes = await flood((index, reply) =>
      index % 2 === 0 ? flooder.emit('calibrationReset', { deviceId }, reply) : flooder.emit('calibrationRemovePoint', { deviceId, index: 0 }, reply),
    );
    await observerCaughtUp();
    expect(changes.refusals.some((error) => /^calibration\w+ refused, nothing changed: rate limit/.test(error))).toBe(true);
    const accepted = FLOOD - changes.refusals.filter((error) => /rate limit/.test(error)).length;
    expect(accepted).toBeLessThanOrEqual(allowedIn(changes.elapsedMs));
    expect(counts.calibration - before).toBeLessThanOrEqual(accepted);
    await expectBoundedMemory(baseline);
  });

  it('REST writes: a flood of PATCHes is answered 429 beyond the limit, and memory returns to its baseline', async () => {
    const baseline = await measure();
    const statuses: number[] = [];
    const startedMs = performance.now();
    for (let batch = 0; batch < 20; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, index) =>
          fetch(`${url}/api/sessions/1`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ notes: `flood ${batch * 50 + index}` }) }).then(async (response) => {
            if (response.status === 429) expect(((await response.json()) as { error: string }).error).toMatch(/^too many changes: rate limit of 30 edits or deletions per 10 s per client; nothing changed, try again in/);
            else await response.arrayBuffer();
            return response.status;
          }),
        ),
      );
      statuses.push(...answers);
    }
    const windows = Math.ceil((performance.now() - startedMs) / REST_WRITE_LIMIT.timeWindowMs) + 1;
    const applied = statuses.filter((status) => status === 200).length;
    expect(applied).toBeGreaterThan(0);
    expect(applied).toBeLessThanOrEqual(REST_WRITE_LIMIT.max * windows);
    expect(statuses.filter((status) => status !== 200 && status !== 429)).toEqual([]);
    await expectBoundedMemory(baseline);
  });
});
