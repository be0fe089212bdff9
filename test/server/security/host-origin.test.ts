// The server's gate without a browser: requests naming another host are refused (421 on
// HTTP, 403 for socket.io) whatever their path, a write or socket.io connection from
// another origin is refused (403) while the server's own names, --allowed-host names and
// the dev server's proxied same-origin requests pass; every answer carries the security
// headers; text with C1 controls or unpaired surrogates and numbers that parse to
// Infinity are refused; a read-only database answers writes 503.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../../server/app.ts';
import { parseServerArgs } from '../../../server/cli/start-args.ts';
import type { ClientToServerEvents, ServerToClientEvents } from '../../../server/contract/live-events.ts';
import { presetConfig } from '../../../server/engine/presets.ts';
import { seedPastSessions, tempDir } from '../recording/support.ts';
import { send, type RawAnswer } from '../../support/raw-http.ts';
import { REPO_ROOT, waitForLine } from '../../support/cli.ts';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;
const NOBODY = 65_534;

const POLLING = '/socket.io/?EIO=4&transport=polling';

describe('Host and Origin', () => {
  const logged: { refused?: string; client?: string; msg?: string; alsoRefusedSinceLastLine?: number }[] = [];
  let dir: ReturnType<typeof tempDir>;
  let server: RunningServer;
  let port = '';

  beforeAll(async () => {
    dir = tempDir('knotmeter-hosts-');
    const db = join(dir.path, 'hosts.db');
    await seedPastSessions(db, [{ startedAtMs: Date.parse('2026-11-02T08:00:00Z'), holds: [{ durationMs: 30_000, peakN: 20, bodyArea: 'neck', knot: null }] }]);
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      devices: ['sim:idle?rate=50'],
      seed: 3,
      engine: { preset: 'shoulders', config: presetConfig('shoulders') },
      logger: pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line) as (typeof logged)[number]) }),
      db,
      allowedHosts: ['knot.clinic.example'],
    });
    port = new URL(server.url).port;
  });
  afterAll(async () => {
    await server.close();
    dir.remove();
  });

  it('refuses a request naming another host (421), on every path, saying how to allow it', async () => {
    for (const path of ['/', '/index.html', '/api/sessions', '/api/sessions/1/export.csv']) {
      const answer = await send(server.url, path, { host: `evil.example:${port}` });
      expect(answer.status, path).toBe(421);
      expect(JSON.parse(answer.body)).toEqual({ error: 'this server does not answer to the name evil.example: open it by an address of this machine (e.g. http://127.0.0.1), or start it with --allowed-host evil.example if that name is yours' });
    }
    expect((await send(server.url, '/api/sessions/1', { host: `evil.example:${port}` }, 'DELETE')).status).toBe(421);
    expect((await send(server.url, '/api/sessions', { host: 'not a host' })).status).toBe(421);
    expect((await send(server.url, '/api/sessions/1', {})).status).toBe(200);
  });

  it('logs every refusal, a flood of them once per client and kind until a summary', async () => {
    // The test before refused a foreign Host from this client already: logged then, counted now.
    for (let index = 0; index < 50; index++) await send(server.url, '/api/sessions', { host: `rebound.example:${port}` });
    await send(server.url, '/api/sessions/1', { host: `127.0.0.1:${port}`, origin: 'http://evil.example' }, 'DELETE');
    expect(logged.filter((line) => line.refused === 'foreign-host')).toEqual([expect.objectContaining({ client: '127.0.0.1', msg: `refused: GET / for Host evil.example:${port}` })]);
    expect(logged.filter((line) => line.refused === 'foreign-origin')).toEqual([expect.objectContaining({ client: '127.0.0.1', msg: 'refused: DELETE /api/sessions/1 from http://evil.example' })]);
  });

  it('answers to loopback names and addresses, this machine, and --allowed-host names', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST.:${port}`, `[::1]:${port}`, `127.1.2.3:${port}`, `knot.clinic.example:${port}`, 'knot.clinic.example']) {
      expect((await send(server.url, '/api/sessions', { host })).status, host).toBe(200);
    }
  });

  it('refuses socket.io from another host or another origin (403), and lets in the dashboard and its dev server', async () => {
    const polling = (headers: Record<string, string>): Promise<number> => send(server.url, POLLING, headers).then((answer) => answer.status);
    expect(await polling({ host: `evil.example:${port}` })).toBe(403);
    expect(await polling({ host: `127.0.0.1:${port}`, origin: 'http://evil.example' })).toBe(403);
    expect(await polling({ host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${Number(port) + 1}` })).toBe(403);
    expect(await polling({ host: `127.0.0.1:${port}`, origin: 'null' })).toBe(403);
    expect(await polling({ host: `127.0.0.1:${port}`, 'sec-fetch-site': 'cross-site' })).toBe(403);
    expect(await polling({ host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' })).toBe(200);
    // `npm run dev:dashboard`: Vite's proxy keeps the page's Host, so its origin is the request's own.
    expect(await polling({ host: 'localhost:5173', origin: 'http://localhost:5173' })).toBe(200);
    expect(await polling({ host: `127.0.0.1:${port}` })).toBe(200);
  });

  it('refuses a WebSocket from another origin, and accepts one with none (a program, not a page)', async () => {
    const connects = (extraHeaders: Record<string, string>): Promise<boolean> => {
      const client: Client = io(server.url, { transports: ['websocket'], forceNew: true, reconnection: false, extraHeaders });
      return new Promise<boolean>((resolve) => {
        client.on('connect', () => resolve(true));
        client.on('connect_error', () => resolve(false));
      }).finally(() => client.close());
    };
    expect(await connects({ origin: 'http://evil.example' })).toBe(false);
    expect(await connects({})).toBe(true);
  });

  it('refuses a write from another origin (403) and takes one from its own pages', async () => {
    const patch = (headers: Record<string, string>): Promise<RawAnswer> => send(server.url, '/api/sessions/1', { host: `127.0.0.1:${port}`, ...headers }, 'PATCH', JSON.stringify({ notes: 'checked' }));
    const foreign = await patch({ origin: `http://localhost:${port}` });
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body)).toEqual({ error: `requests from pages of http://localhost:${port} are refused: only this server's own dashboard may send them` });
    expect((await patch({ origin: `http://127.0.0.1:${port}` })).status).toBe(200);
  });

  it('sends the security headers with every answer, refusals included', async () => {
    for (const [path, host] of [['/', `127.0.0.1:${port}`], ['/api/sessions', `127.0.0.1:${port}`], ['/api/sessions', 'evil.example']] as const) {
      const { headers } = await send(server.url, path, { host });
      expect(headers['content-security-policy'], path).toBe("default-src 'self';script-src 'self';style-src 'self';img-src 'self' data: blob:;font-src 'self';connect-src 'self';object-src 'none';base-uri 'none';form-action 'self';frame-ancestors 'none'");
      expect(headers['x-content-type-options']).toBe('nosniff');
      expect(headers['referrer-policy']).toBe('no-referrer');
      expect(headers['x-frame-options']).toBe('DENY');
      expect(headers['strict-transport-security']).toBeUndefined();
    }
  });

  it('refuses C0/C1 controls and unpaired surrogates in text, and numbers that parse to Infinity', async () => {
    const host = { host: `127.0.0.1:${port}` };
    const labelled = await send(server.url, '/api/sessions/1/holds/1', host, 'PATCH', JSON.stringify({ knot: 'left\u0085C5' }));
    expect(labelled.status).toBe(400);
    expect(JSON.parse(labelled.body)).toEqual({ error: expect.stringMatching(/^body: knot: must not contain control characters/) as unknown });
    const surrogate = await send(server.url, '/api/sessions/1', host, 'PATCH', '{"notes": "tender \\ud800 here"}');
    expect(surrogate.status).toBe(400);
    expect(surrogate.body).toMatch(/notes: must not contain an unpaired surrogate/);
    expect((await send(server.url, '/api/sessions/1', host, 'PATCH', JSON.stringify({ notes: 'line one\nline two\twith a tab' }))).status).toBe(200);
    const infinite = await send(server.url, `/api/sessions/1/samples?toMs=${'9'.repeat(401)}`, host);
    expect(infinite.status).toBe(400);
    expect(infinite.body).toMatch(/toMs must be a number of ms of at most 20 characters/);
    const client: Client = io(server.url, { transports: ['websocket'], forceNew: true, reconnection: false });
    try {
      const reply: unknown = await client.timeout(5000).emitWithAck('labelHold', { deviceId: server.pipelines[0]?.info?.deviceId ?? '', bodyArea: 'neck\ud83d', knot: null });
      expect(reply).toEqual({ ok: false, error: expect.stringMatching(/^labelHold: bodyArea: must not contain an unpaired surrogate/) as unknown });
    } finally {
      client.close();
    }
  });

  it('takes --allowed-host NAME, repeated, and refuses a scheme or a port', () => {
    expect(parseServerArgs(['--allowed-host', 'Knot.Clinic.Example.', '--allowed-host', '192.168.1.20']).allowedHosts).toEqual(['knot.clinic.example', '192.168.1.20']);
    expect(parseServerArgs([]).allowedHosts).toEqual([]);
    expect(() => parseServerArgs(['--allowed-host', 'http://knot.clinic.example'])).toThrow(/--allowed-host needs a host name or address without scheme or port/);
    expect(() => parseServerArgs(['--allowed-host', 'knot.clinic.example:8080'])).toThrow(/without scheme or port.*got --allowed-host "knot.clinic.example:8080"/);
  });
});

describe('a read-only database', () => {
  let dir: ReturnType<typeof tempDir>;
  let child: ChildProcess | null = null;

  beforeAll(() => {
    dir = tempDir('knotmeter-readonly-');
  });
  afterAll(async () => {
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      const closed = once(child, 'close');
      child.kill('SIGKILL');
      await closed;
    }
    chmodSync(dir.path, 0o755);
    dir.remove();
  });

  it('answers PATCH and DELETE 503 saying why, and changes nothing', { timeout: 60_000 }, async () => {
    const db = join(dir.path, 'readonly.db');
    await seedPastSessions(db, [{ startedAtMs: Date.parse('2026-11-02T08:00:00Z'), holds: [{ durationMs: 30_000, peakN: 20, bodyArea: 'neck', knot: null }] }]);
    // The file read-only, its folder not: SQLite can still read it (its -shm beside it), so sessions are served but cannot be changed.
    chmodSync(db, 0o444);
    chmodSync(dir.path, 0o777);
    // Root writes through file permissions: the server runs as nobody so the file is truly read-only for it.
    const asRoot = process.getuid?.() === 0;
    child = spawn(process.execPath, ['--import', 'tsx', 'server/cli/start.ts', '--port', '0', '--db', db, '--data-dir', join(dir.path, 'data'), '--device', 'sim:idle?rate=50', '--log-level', 'silent'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(asRoot ? { uid: NOBODY, gid: NOBODY, env: { ...process.env, HOME: dir.path } } : {}),
    });
    const url = (await waitForLine(child, /Knotmeter dashboard: (\S+)/))[1] ?? '';
    const read: RawAnswer = await send(url, '/api/sessions/1', {});
    expect(read.status).toBe(200);
    for (const [method, path, body] of [
      ['PATCH', '/api/sessions/1', JSON.stringify({ notes: 'x' })],
      ['PATCH', '/api/sessions/1/holds/1', JSON.stringify({ knot: 'x' })],
      ['DELETE', '/api/sessions/1', undefined],
    ] as const) {
      const answer = await send(url, path, {}, method, body);
      expect(answer.status, `${method} ${path}`).toBe(503);
      expect(JSON.parse(answer.body)).toEqual({ error: expect.stringMatching(/^recorded sessions cannot be changed: .*the database is read-only.*; nothing changed$/) as unknown });
    }
    expect((await send(url, '/api/sessions/1', {})).body).toBe(read.body);
  });
});
