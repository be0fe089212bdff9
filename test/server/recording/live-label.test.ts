// The recorder on the live stream, with a real socket.io client: its status on connect,
// labelling a device's holds (the hold in progress and the ones after it) with an
// acknowledgement, and bad requests refused with what was wrong.
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../server/app.ts';
import { commandReplySchema, serverEventSchemas, type ClientToServerEvents, type RecorderStatus, type ServerToClientEvents } from '../../../server/contract/live-events.ts';
import { sessionDetailSchema } from '../../../server/contract/records.ts';
import { until } from '../../support/until.ts';
import { getJson, startRecordingServer, tempDir } from './support.ts';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

describe('labelling holds live', () => {
  let dir: ReturnType<typeof tempDir>;
  let server: RunningServer;
  let client: Client;
  const statuses: RecorderStatus[] = [];

  beforeAll(async () => {
    dir = tempDir();
    server = await startRecordingServer({ devices: ['sim:over-pressure?rate=100&speed=10'], db: join(dir.path, 'label.db') });
    client = io(server.url, { transports: ['websocket'], forceNew: true });
    client.on('recorder', (payload) => statuses.push(serverEventSchemas.recorder.parse(payload)));
  });
  afterAll(async () => {
    client.close();
    await server.close();
    dir.remove();
  });

  it('sends the recorder status on connect and as sessions start', async () => {
    await until(() => statuses.length > 0, 'the recorder status');
    expect(statuses[0]).toMatchObject({ state: 'recording', database: join(dir.path, 'label.db'), error: null });
    await until(() => statuses.at(-1)?.devices[0]?.sessionId === 1, 'session 1 in the status');
  });

  it('labels the hold in progress and the following ones, and shows the label in the recorder status', { timeout: 60_000 }, async () => {
    const deviceId = server.pipelines[0]?.info?.deviceId ?? '';
    await until(() => server.pipelines[0]?.session().state.hold?.started === true, 'a hold in progress');
    expect(await client.timeout(5000).emitWithAck('labelHold', { deviceId, bodyArea: 'shoulders', knot: 'left upper trapezius' })).toEqual({ ok: true });
    await until(() => statuses.at(-1)?.devices[0]?.label.knot === 'left upper trapezius', 'the label in the status');
    const labelled = async (): Promise<number> => {
      await server.recording?.recorder?.flush();
      const session = sessionDetailSchema.parse((await getJson(`${server.url}/api/sessions/1`)).body);
      return session.holds.filter((hold) => hold.bodyArea === 'shoulders' && hold.knot === 'left upper trapezius').length;
    };
    let count = 0;
    for (let attempt = 0; count < 2; attempt++) {
      if (attempt > 400) throw new Error(`gave up waiting for two labelled holds (${count} so far)`);
      count = await labelled();
      if (count < 2) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(count).toBeGreaterThanOrEqual(2);
  });

  it('refuses bad label requests, naming what is wrong', async () => {
    const untyped = client as unknown as Socket;
    const ask = async (payload: unknown): Promise<string> => {
      const reply = commandReplySchema.parse(await untyped.timeout(5000).emitWithAck('labelHold', payload));
      return reply.ok ? 'ok' : reply.error;
    };
    expect(await ask({ deviceId: 'ffffffff', bodyArea: 'neck', knot: null })).toBe('no device ffffffff on this server');
    expect(await ask({ deviceId: 'ffffffff', bodyArea: '', knot: null })).toMatch(/^labelHold: bodyArea: must not be empty/);
    expect(await ask({ deviceId: 'ffffffff', bodyArea: 'neck' })).toMatch(/^labelHold: knot: /);
    expect(await ask('neck')).toMatch(/^labelHold: payload: /);
  });
});
