// The pairing gate against the real server (in-process, --auth always on loopback, which
// must behave as a server bound to the LAN): without a token every page, API call and
// socket.io connection is refused (401, a page telling how to pair); a pairing link sets
// an HttpOnly SameSite=Strict cookie once; a viewer reads but every write and live-stream
// request is refused; an operator writes; a revoked client is refused and disconnected.
import { join } from 'node:path';
import { pino } from 'pino';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../../server/app.ts';
import { parseServerArgs } from '../../../server/cli/start-args.ts';
import type { ClientToServerEvents, ServerToClientEvents } from '../../../server/contract/live-events.ts';
import { pairingStateSchema } from '../../../server/contract/pairing.ts';
import { presetConfig } from '../../../server/engine/presets.ts';
import { clientName } from '../../../server/security/client-name.ts';
import { authApplies, PairingGate, TOKEN_COOKIE } from '../../../server/security/pairing-guard.ts';
import type { Role } from '../../../server/security/pairing.ts';
import { seedPastSessions, tempDir } from '../recording/support.ts';
import { send } from '../../support/raw-http.ts';
import { until } from '../../support/until.ts';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A socket.io client with this cookie; `received`: the events it has been sent. */
function connect(url: string, cookie: string | null): Promise<{ client: Client; connected: boolean; received: string[] }> {
  const client: Client = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, extraHeaders: cookie === null ? {} : { cookie } });
  const received: string[] = [];
  client.onAny((event: string) => received.push(event));
  return new Promise((resolve) => {
    client.on('connect', () => resolve({ client, connected: true, received }));
    client.on('connect_error', () => resolve({ client, connected: false, received }));
  });
}

describe('pairing (--auth always)', () => {
  let dir: ReturnType<typeof tempDir>;
  let server: RunningServer;
  let gate: PairingGate;
  let deviceId = '';

  beforeAll(async () => {
    dir = tempDir('knotmeter-pairing-auth-');
    const db = join(dir.path, 'pairing.db');
    await seedPastSessions(db, [{ startedAtMs: Date.parse('2026-11-02T08:00:00Z'), holds: [{ durationMs: 30_000, peakN: 20, bodyArea: 'neck', knot: null }] }]);
    server = await startServer({ host: '127.0.0.1', port: 0, devices: ['sim:idle?rate=50'], seed: 3, engine: { preset: 'shoulders', config: presetConfig('shoulders') }, logger: pino({ level: 'silent' }), db, dataDir: dir.path, auth: 'always' });
    if (server.pairing === null) throw new Error('--auth always made no pairing gate');
    gate = server.pairing;
    deviceId = server.pipelines[0]?.info?.deviceId ?? '';
  });
  afterAll(async () => {
    await server.close();
    dir.remove();
  });

  async function pair(role: Role): Promise<{ cookie: string; name: string }> {
    const { code } = gate.store.newCode(role);
    const answer = await send(server.url, `/pair?code=${code}`, {});
    expect(answer.status).toBe(303);
    expect(answer.headers.location).toBe('/');
    const setCookie = String(answer.headers['set-cookie']);
    expect(setCookie).toMatch(new RegExp(`^${TOKEN_COOKIE}=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=/; Max-Age=\\d+$`));
    expect((await send(server.url, `/pair?code=${code}`, {})).status).toBe(401);
    return { cookie: setCookie.split(';')[0] ?? '', name: gate.store.list().at(-1)?.name ?? '' };
  }

  it('applies off loopback or with --auth always, and parses --auth', () => {
    expect(authApplies('127.0.0.1', 'auto')).toBe(false);
    expect(authApplies('::1', 'auto')).toBe(false);
    expect(authApplies('0.0.0.0', 'auto')).toBe(true);
    expect(authApplies('192.168.1.20', 'auto')).toBe(true);
    expect(authApplies('127.0.0.1', 'always')).toBe(true);
    expect(parseServerArgs([]).auth).toBe('auto');
    expect(parseServerArgs(['--auth', 'always']).auth).toBe('always');
    expect(() => parseServerArgs(['--auth', 'never'])).toThrow(/--auth needs one of auto, always/);
    expect(clientName({ address: '192.168.1.20', paired: { name: 'tablet-1' } })).toBe('tablet-1');
    expect(clientName({ address: '::ffff:127.0.0.1', paired: null })).toBe('localhost');
  });

  it('refuses every page, API call and socket without a token, saying how to pair', async () => {
    const pageAnswer = await send(server.url, '/', { accept: 'text/html' });
    expect(pageAnswer.status).toBe(401);
    expect(pageAnswer.body).toContain('Pair this device');
    expect(pageAnswer.body).toContain('npm run pair -- new --role viewer');
    for (const path of ['/api/sessions', '/index.html', '/api/sessions/1/export.csv']) {
      const answer = await send(server.url, path, {});
      expect(answer.status, path).toBe(401);
      expect(JSON.parse(answer.body), path).toEqual({ error: expect.stringMatching(/needs a paired device: open the pairing link/) as unknown });
    }
    expect((await send(server.url, '/api/sessions/1', {}, 'DELETE')).status).toBe(401);
    expect((await send(server.url, '/api/sessions', { cookie: `${TOKEN_COOKIE}=forged` })).status).toBe(401);
    expect((await send(server.url, '/pair?code=WRONGCODE', {})).status).toBe(401);
    const socket = await connect(server.url, null);
    socket.client.close();
    expect(socket.connected).toBe(false);
    const forged = await connect(server.url, `${TOKEN_COOKIE}=forged`);
    forged.client.close();
    expect(forged.connected).toBe(false);
  });

  it('lets a viewer read and refuses its every write', async () => {
    const viewer = await pair('viewer');
    expect((await send(server.url, '/api/sessions', { cookie: viewer.cookie })).status).toBe(200);
    const patch = await send(server.url, '/api/sessions/1', { cookie: viewer.cookie }, 'PATCH', JSON.stringify({ notes: 'viewer' }));
    expect(patch.status).toBe(403);
    expect(JSON.parse(patch.body)).toEqual({ error: expect.stringMatching(/^PATCH \/api\/sessions\/1 refused, nothing changed: this device is paired as a viewer/) as unknown });
    expect((await send(server.url, '/api/sessions/1', { cookie: viewer.cookie }, 'DELETE')).status).toBe(403);
    const { client, connected, received } = await connect(server.url, viewer.cookie);
    try {
      expect(connected).toBe(true);
      await until(() => received.includes('devices') && received.includes('readings'), 'the viewer to see the devices and their readings');
      for (const [event, payload] of [
        ['selectPreset', { deviceId, preset: 'neck' }],
        ['labelHold', { deviceId, bodyArea: 'neck', knot: null }],
        ['calibrationTare', { deviceId }],
      ] as const) {
        const reply: unknown = await (client.timeout(5000).emitWithAck as (event: string, payload: unknown) => Promise<unknown>)(event, payload);
        expect(reply, event).toEqual({ ok: false, error: `${event} refused, nothing changed: this device is paired as a viewer; pair it as an operator (npm run pair -- new --role operator) to change things` });
      }
      expect(server.pipelines[0]?.info?.preset).toBe('shoulders');
    } finally {
      client.close();
    }
  });

  it('lets an operator write, and refuses it once revoked', async () => {
    const operator = await pair('operator');
    expect((await send(server.url, '/api/sessions/1', { cookie: operator.cookie }, 'PATCH', JSON.stringify({ notes: 'operator' }))).status).toBe(200);
    const { client, connected } = await connect(server.url, operator.cookie);
    try {
      expect(connected).toBe(true);
      expect(await client.timeout(5000).emitWithAck('selectPreset', { deviceId, preset: 'neck' })).toEqual({ ok: true });
      expect(server.pipelines[0]?.info?.preset).toBe('neck');
      expect(gate.store.revoke(operator.name)).toBe(true);
      await until(() => !client.connected, 'the revoked operator to be disconnected', 10_000);
    } finally {
      client.close();
    }
    expect((await send(server.url, '/api/sessions', { cookie: operator.cookie })).status).toBe(401);
    expect((await send(server.url, '/api/sessions/1', { cookie: operator.cookie }, 'PATCH', JSON.stringify({ notes: 'revoked' }))).status).toBe(401);
    const again = await connect(server.url, operator.cookie);
    again.client.close();
    expect(again.connected).toBe(false);
  });

  it('lists paired devices to any paired client and lets only an operator revoke one (GET, DELETE /api/pairing)', async () => {
    const viewer = await pair('viewer');
    const operator = await pair('operator');
    const listed = await send(server.url, '/api/pairing', { cookie: viewer.cookie });
    expect(listed.status).toBe(200);
    const state = pairingStateSchema.parse(JSON.parse(listed.body));
    expect(state.required).toBe(true);
    expect(state.you).toEqual({ name: viewer.name, role: 'viewer' });
    expect(state.clients.map((client) => client.name)).toEqual(expect.arrayContaining([viewer.name, operator.name]));
    expect(state.clients.find((client) => client.name === viewer.name)?.lastSeenAt).not.toBeNull();
    expect((await send(server.url, `/api/pairing/${operator.name}`, { cookie: viewer.cookie }, 'DELETE')).status).toBe(403);
    expect((await send(server.url, '/api/pairing', {})).status).toBe(401);
    const { client, connected } = await connect(server.url, viewer.cookie);
    try {
      expect(connected).toBe(true);
      expect((await send(server.url, `/api/pairing/${viewer.name}`, { cookie: operator.cookie }, 'DELETE')).status).toBe(204);
      await until(() => !client.connected, 'the revoked viewer to be disconnected', 5000);
    } finally {
      client.close();
    }
    expect((await send(server.url, '/api/pairing', { cookie: viewer.cookie })).status).toBe(401);
    const again = await send(server.url, `/api/pairing/${viewer.name}`, { cookie: operator.cookie }, 'DELETE');
    expect(again.status).toBe(404);
    expect(JSON.parse(again.body)).toEqual({ error: `no paired device is named ${viewer.name}: nothing changed` });
    expect((await send(server.url, '/api/pairing/Not%20a%20name', { cookie: operator.cookie }, 'DELETE')).status).toBe(400);
  });
});

describe('pairing off (loopback, --auth auto)', () => {
  it('answers GET /api/pairing with required false and refuses to revoke', async () => {
    const server = await startServer({ host: '127.0.0.1', port: 0, devices: ['sim:idle?rate=50'], seed: 3, engine: { preset: 'shoulders', config: presetConfig('shoulders') }, logger: pino({ level: 'silent' }) });
    try {
      expect(server.pairing).toBeNull();
      const state = await send(server.url, '/api/pairing', {});
      expect(pairingStateSchema.parse(JSON.parse(state.body))).toEqual({ required: false, you: null, clients: [] });
      expect((await send(server.url, '/api/pairing/tablet-1', {}, 'DELETE')).status).toBe(409);
      expect((await send(server.url, '/api/sessions', {})).status).not.toBe(401);
    } finally {
      await server.close();
    }
  });
});
