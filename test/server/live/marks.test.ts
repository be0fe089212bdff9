/**
 * The `mark` live event end to end, on the real server (in-process, --auth always so that
 * roles apply) with the real firmware in the emulator (`emulator:fsr`): a bounced press of
 * the emulated thumb button reaches real socket.io clients as `mark` with source `device`,
 * dated inside the readings they were sent; an operator's `mark` request makes one with
 * source `dashboard`; a viewer's is refused and makes none; a page of another origin cannot
 * even connect.
 */
import { pino } from 'pino';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmulatorTransport } from '../../../device/transports/emulator.ts';
import { startServer, type RunningServer } from '../../../server/app.ts';
import type { ClientToServerEvents, CommandReply, MarkEvent, ServerToClientEvents } from '../../../server/contract/live-events.ts';
import { presetConfig } from '../../../server/engine/presets.ts';
import type { Role } from '../../../server/security/pairing.ts';
import { send } from '../../support/raw-http.ts';
import { until } from '../../support/until.ts';
import { tempDir } from '../recording/support.ts';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

interface Watcher {
  readonly client: Client;
  readonly connected: boolean;
  readonly marks: MarkEvent[];
  /** The latest reading's tMs of the device, as this client was sent it. */
  latestTMs: number;
}

describe('mark on the live stream', () => {
  let dir: ReturnType<typeof tempDir>;
  let server: RunningServer;
  let deviceId = '';
  let operator: Watcher;
  let viewer: Watcher;

  function connect(cookie: string, origin: string): Promise<Watcher> {
    const client: Client = io(server.url, { transports: ['websocket'], forceNew: true, reconnection: false, extraHeaders: { cookie, origin } });
    const marks: MarkEvent[] = [];
    return new Promise((resolve) => {
      const watcher = (connected: boolean): Watcher => ({ client, connected, marks, latestTMs: Number.NaN });
      client.on('connect', () => {
        const connected = watcher(true);
        client.on('mark', (mark) => marks.push(mark));
        client.on('readings', (batches) => {
          for (const batch of batches) if (batch.deviceId === deviceId) connected.latestTMs = batch.tMs.at(-1) ?? connected.latestTMs;
        });
        resolve(connected);
      });
      client.on('connect_error', () => resolve(watcher(false)));
    });
  }

  async function pairedCookie(role: Role): Promise<string> {
    const { code } = server.pairing?.store.newCode(role) ?? { code: '' };
    const answer = await send(server.url, `/pair?code=${code}`, {});
    return String(answer.headers['set-cookie']).split(';')[0] ?? '';
  }

  const requestMark = (client: Client, payload: unknown): Promise<CommandReply> =>
    (client.timeout(5000).emitWithAck as (event: string, payload: unknown) => Promise<CommandReply>)('mark', payload);

  beforeAll(async () => {
    dir = tempDir('knotmeter-marks-');
    server = await startServer({ host: '127.0.0.1', port: 0, devices: ['emulator:fsr?scenario=idle'], seed: 5, engine: { preset: 'shoulders', config: presetConfig('shoulders') }, logger: pino({ level: 'silent' }), dataDir: dir.path, auth: 'always' });
    deviceId = server.pipelines[0]?.info?.deviceId ?? '';
    const origin = server.url.replace(/\/$/, '');
    operator = await connect(await pairedCookie('operator'), origin);
    viewer = await connect(await pairedCookie('viewer'), origin);
    await until(() => operator.latestTMs > 0 && viewer.latestTMs > 0, 'both clients to get readings of the emulated device');
  }, 60_000);

  afterAll(async () => {
    operator.client.close();
    viewer.client.close();
    await server.close();
    dir.remove();
  });

  it('sends a press of the thumb button to every client, dated on the readings\' clock', async () => {
    const transport = server.pipelines[0]?.transport;
    if (!(transport instanceof EmulatorTransport) || transport.emulator === null) throw new Error('the device is not an emulated massager');
    const readingBeforeMs = operator.latestTMs;
    await transport.emulator.pressButton({ bounces: 5, holdMs: 100 });
    await until(() => operator.marks.length === 1 && viewer.marks.length === 1, 'the mark to reach both clients');
    const mark = operator.marks[0];
    expect(mark).toEqual({ deviceId, tMs: expect.any(Number) as unknown, seq: 0, source: 'device' });
    expect(viewer.marks[0]).toEqual(mark);
    // Pressed after a reading both had (50 ms of emulated time after the call); the mark can
    // come before the readings of its moment (they leave every 50 ms), so it is placed by time.
    expect(mark?.tMs).toBeGreaterThan(readingBeforeMs);
    expect(mark?.tMs).toBeLessThan(readingBeforeMs + 1000);
    await until(() => operator.latestTMs >= (mark?.tMs ?? Infinity), 'the readings of the moment of the mark');
  });

  it('makes a dashboard mark for an operator, at the device\'s latest reading, and refuses a viewer\'s', async () => {
    expect(await requestMark(viewer.client, { deviceId })).toEqual({
      ok: false,
      error: 'mark refused, nothing changed: this device is paired as a viewer; pair it as an operator (npm run pair -- new --role operator) to change things',
    });
    expect(await requestMark(operator.client, { deviceId: 'nosuchdv' })).toEqual({ ok: false, error: 'mark: no device nosuchdv on this server' });
    expect(await requestMark(operator.client, { device: deviceId })).toMatchObject({ ok: false, error: expect.stringMatching(/^mark: /) as unknown });
    const readingBeforeMs = operator.latestTMs;
    expect(await requestMark(operator.client, { deviceId })).toEqual({ ok: true });
    await until(() => operator.marks.length === 2 && viewer.marks.length === 2, 'the dashboard mark to reach both clients');
    // Only the operator's request made one: the first dashboard mark.
    expect(operator.marks[1]).toEqual({ deviceId, tMs: expect.any(Number) as unknown, seq: 0, source: 'dashboard' });
    expect(operator.marks[1]?.tMs).toBeGreaterThanOrEqual(readingBeforeMs);
  });

  it('lets no page of another origin connect, so it can make no mark', async () => {
    const foreign = await connect(await pairedCookie('operator'), 'http://evil.example');
    foreign.client.close();
    expect(foreign.connected).toBe(false);
  });
});
