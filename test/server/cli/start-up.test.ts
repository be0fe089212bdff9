// `npm start` as a user first meets it: folders that do not exist yet, a recorded session
// replayed from the command line, one Ctrl-C in a terminal (npm, its shell and the server in
// one process group), and a device that cannot be reached, each run as the real program.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverEventSchemas } from '../../../server/contract/live-events.ts';
import { sessionDetailSchema, sessionPageSchema, type SessionDetail, type SessionSummary } from '../../../server/contract/records.ts';
import { openSqliteStore } from '../../../server/recording/sqlite-store.ts';
import { io } from 'socket.io-client';
import { tempDir } from '../recording/support.ts';
import { REPO_ROOT, runTsx, spawnTsx, waitForLine } from '../../support/cli.ts';
import { until } from '../../support/until.ts';

const MAIN = 'server/cli/start.ts';
const URL_LINE = /Knotmeter dashboard: (http:\/\/127\.0\.0\.1:\d+)/;

/** Polls an async condition (no fixed pause), failing with what it waited for. */
async function eventually<T>(probe: () => Promise<T | null>, what: string, limitMs = 30_000): Promise<T> {
  const startedMs = performance.now();
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (performance.now() - startedMs > limitMs) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  stderr(): string;
}

async function startCli(args: readonly string[]): Promise<Started> {
  const child = spawnTsx(MAIN, ['--port', '0', ...args]);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [, url] = await waitForLine(child, URL_LINE);
  return { child, url: url ?? '', stderr: () => stderr };
}

async function stopCli(started: Started): Promise<number | null> {
  if (started.child.exitCode !== null) return started.child.exitCode;
  started.child.kill('SIGTERM');
  const [code] = (await once(started.child, 'close')) as [number | null];
  return code;
}

async function sessionsOf(url: string): Promise<SessionSummary[] | null> {
  const response = await fetch(`${url}/api/sessions`);
  if (response.status !== 200) return null;
  return sessionPageSchema.parse(await response.json()).sessions;
}

async function sessionDetail(url: string, id: number): Promise<SessionDetail> {
  return sessionDetailSchema.parse(await (await fetch(`${url}/api/sessions/${id}`)).json());
}

describe('npm start on folders that do not exist yet', () => {
  const dir = tempDir('knotmeter-fresh-');
  afterAll(() => dir.remove());

  it.each([
    ['--data-dir', (root: string) => ['--data-dir', join(root, 'fresh', 'data')]],
    ['--db', (root: string) => ['--data-dir', join(root, 'profiles'), '--db', join(root, 'some', 'new', 'folder', 'x.db')]],
  ])('makes the folders of %s and records the first press', async (flag, argsIn) => {
    const root = join(dir.path, flag.replace(/-/g, ''));
    const started = await startCli([...argsIn(root), '--device', 'sim:treatment?speed=20', '--seed', '3', '--log-level', 'warn']);
    try {
      const sessions = await eventually(async () => {
        const list = await sessionsOf(started.url);
        return list !== null && list.length > 0 ? list : null;
      }, `a recorded session in ${started.url}/api/sessions`);
      expect(sessions[0]?.spec).toMatch(/^sim:treatment/);
      expect(started.stderr()).not.toMatch(/cannot record sessions/);
    } finally {
      expect(await stopCli(started)).toBe(0);
    }
  });

  it('refuses a --data-dir that is a file, naming it (exit 2)', async () => {
    const file = join(dir.path, 'a-file');
    writeFileSync(file, 'not a folder\n');
    const result = await runTsx(MAIN, ['--port', '0', '--data-dir', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--data-dir ${file}: cannot make the folder ${join(file, 'calibration')} (it, or a folder above it, is a file)`);
    expect(result.stdout).toBe('');
  });
});

describe('npm start -- --device replay:SESSION_ID', () => {
  const dir = tempDir('knotmeter-replay-cli-');
  const db = join(dir.path, 'demo.db');
  let original: SessionSummary;

  beforeAll(async () => {
    const made = await runTsx('server/cli/demo-history.ts', ['--db', db, '--weeks', '1', '--seed', '5']);
    expect(made.code, made.stderr).toBe(0);
    const store = openSqliteStore(db, { readonly: true });
    try {
      const { sessions } = await store.listSessions({}, { limit: 10, offset: 0 });
      const withHolds = sessions.find((session) => session.holdCount > 1);
      if (withHolds === undefined) throw new Error('demo-history wrote no session with holds');
      original = withHolds;
    } finally {
      await store.close();
    }
  });
  afterAll(() => dir.remove());

  it('replays the recorded session through the pipeline, recorded anew with the same holds', async () => {
    const started = await startCli(['--db', db, '--data-dir', dir.path, '--device', `replay:${original.id}`, '--speed', 'max', '--preset', original.preset ?? 'shoulders', '--log-level', 'warn']);
    try {
      const again = await eventually(async () => {
        const list = await sessionsOf(started.url);
        return list?.find((session) => session.spec.startsWith(`replay:${original.id}?`) && session.status === 'complete') ?? null;
      }, 'the replayed session, complete');
      expect(again.id).toBeGreaterThan(original.id);
      const [before, after] = await Promise.all([sessionDetail(started.url, original.id), sessionDetail(started.url, again.id)]);
      expect(after.holds).toHaveLength(before.holds.length);
      for (const [index, hold] of before.holds.entries()) {
        expect(Math.abs((after.holds[index]?.durationMs ?? Number.NaN) - hold.durationMs), `hold ${index} durationMs`).toBeLessThanOrEqual(20);
        expect(Math.abs((after.holds[index]?.peakN ?? Number.NaN) - hold.peakN), `hold ${index} peakN`).toBeLessThanOrEqual(0.01);
      }
    } finally {
      expect(await stopCli(started)).toBe(0);
    }
  });

  it('refuses a session that does not exist, naming it (exit 2, nothing left listening)', async () => {
    const result = await runTsx(MAIN, ['--port', '0', '--db', db, '--data-dir', dir.path, '--device', 'replay:999', '--log-level', 'warn']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/knotmeter: replay:999: there is no recorded session 999 in .*demo\.db/);
    expect(result.stdout).toBe('');
  });
});

describe('one Ctrl-C on npm start in a terminal', () => {
  const dir = tempDir('knotmeter-ctrl-c-');
  afterAll(() => dir.remove());

  it('stops cleanly: npm exits 0 and the server says it stopped', { timeout: 180_000 }, async () => {
    // A terminal runs npm in a process group of its own and Ctrl-C signals the whole group:
    // npm, the shell of its script and the server each get SIGINT, and npm relays its own.
    const npm = spawn('npm', ['start', '--', '--port', '0', '--data-dir', dir.path, '--log-level', 'warn'], { cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    npm.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const closed = once(npm, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
    await waitForLine(npm, URL_LINE);
    process.kill(-(npm.pid ?? 0), 'SIGINT');
    const [code, signal] = await closed;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(stderr).toContain('Knotmeter stopped.');
    expect(stderr).not.toMatch(/second signal/);
  });

  it.each([
    [['--version'], 0, /^knotmeter \d+\.\d+\.\d+$/m],
    [['--speed', 'fast'], 2, /--speed needs a number from 0\.1 to 1000, or max \(got --speed "fast"\)/],
  ])('npm start -- %j exits %i', { timeout: 180_000 }, async (args, expected, output) => {
    const npm = spawn('npm', ['start', '--', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    npm.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    npm.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const [code] = (await once(npm, 'close')) as [number | null];
    expect(code).toBe(expected);
    expect(text).toMatch(output);
  });
});

describe('a device that cannot be reached', () => {
  const dir = tempDir('knotmeter-no-port-');
  afterAll(() => dir.remove());

  it('says why in the terminal, once, not once per retry', async () => {
    const started = await startCli(['--device', 'serial:/dev/ttyKNOTMETER-NONE', '--data-dir', dir.path]);
    const client = io(started.url, { transports: ['websocket'] });
    try {
      let failedStatuses = 0;
      client.on('status', (payload: unknown) => {
        const status = serverEventSchemas.status.parse(payload);
        if (status.lastError?.includes('no such port') === true) failedStatuses++;
      });
      await until(() => failedStatuses >= 3 && started.stderr().includes('no such port'), 'three failed statuses and the warning');
    } finally {
      client.close();
      expect(await stopCli(started)).toBe(0);
    }
    const warnings = started.stderr().split('\n').filter((line) => line.includes('no such port'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/"level":40/);
    expect(warnings[0]).toContain('/dev/ttyKNOTMETER-NONE');
    expect(warnings[0]).toContain('`npm run ports` lists the ports');
  });
});
