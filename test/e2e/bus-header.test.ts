// The header of a server joined to a bus (`--bus`), in chromium: "Bus: N messages refused"
// once someone with Redis's password but not the clinic's bus key writes to the bus (a real
// Redis; the entry added by a plain Redis client, unsigned), with the reason in its tooltip;
// and "Bus down" while Redis is away. axe-core finds nothing wrong with the header saying so.
import pino from 'pino';
import { createClient, type RedisClientType } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../server/app.ts';
import { presetConfig } from '../../server/engine/presets.ts';
import { readBusKey } from '../../server/security/bus-key.ts';
import { violations } from '../support/axe.ts';
import { openDashboard, type Dashboard } from '../support/browser.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';

const WAIT = { timeout: 15_000 };

describe('the bus in the header', () => {
  let redis: TestRedis;
  let dashboard: Dashboard;

  beforeAll(async () => {
    redis = await startTestRedis();
    dashboard = await openDashboard({
      server: () =>
        startServer({
          host: '127.0.0.1',
          port: 0,
          devices: ['sim:idle?rate=50'],
          seed: 1,
          engine: { preset: 'shoulders', config: presetConfig('shoulders') },
          logger: pino({ level: 'silent' }),
          bus: { url: redis.url, key: readBusKey(redis.keyFile) },
        }),
      // axe-core is injected as a script: the dashboard's CSP would refuse it.
      page: { bypassCSP: true },
    });
  });
  afterAll(async () => {
    await dashboard.close();
    await redis.close();
  });

  it('counts messages refused on the bus, saying why in its tooltip', async () => {
    const { page } = dashboard;
    const refused = page.getByTestId('bus-refused');
    expect(await refused.count()).toBe(0);
    const intruder: RedisClientType = createClient({ url: redis.url });
    await intruder.connect();
    try {
      // What socket.io's streams adapter would append for a broadcast, without the bus key's signature.
      for (const n of [1, 2]) await intruder.xAdd('knotmeter:live', '*', { uid: `intruder-${n}`, nsp: '/', type: '3', data: JSON.stringify({ packet: { type: 2, data: ['status', {}], nsp: '/' }, opts: { rooms: [], except: [], flags: {} } }) });
    } finally {
      await intruder.close();
    }
    await expect.poll(() => refused.textContent(), WAIT).toBe('Bus: 2 messages refused');
    expect(await refused.getAttribute('title')).toMatch(/not signed with this clinic's bus key/);
    expect(await violations(page)).toEqual([]);
  });

  it('says the bus is down while Redis is away', async () => {
    await redis.stop();
    await expect.poll(() => dashboard.page.getByTestId('bus-down').textContent(), WAIT).toBe('Bus down: other rooms not shown');
  });
});
