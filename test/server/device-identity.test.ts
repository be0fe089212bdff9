// A serial device is listed under a stand-in id (its port) until it says HELLO; then its
// real id replaces the stand-in everywhere: clients never keep a ghost device. Real
// server, real serialport on a socat pty pair, a fake device playing protocol v1.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/app.ts';
import { serverEventSchemas, type DeviceInfo } from '../../server/contract/live-events.ts';
import { FakeDevice } from '../device/serial/support/fake-device.ts';
import { PtyPair } from '../device/serial/support/pty-pair.ts';
import { startTestServer } from '../support/server.ts';
import { until } from '../support/until.ts';

describe('a device that introduces itself late', () => {
  let dir: string;
  let pair: PtyPair;
  let device: FakeDevice;
  let server: RunningServer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'knotmeter-identity-'));
    pair = await PtyPair.start(dir, 'late');
    device = new FakeDevice({ deviceId: '5eed1d01', firmwareVersion: '1.0.0', sensor: 'fsr', rateHz: 100 });
    device.ignore.add('INFO');
    await device.open(pair.devicePath);
    server = await startTestServer([`serial:${pair.hostPath}`]);
  });
  afterAll(async () => {
    await server.close();
    await device.close();
    await pair.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('replaces its stand-in in the device list once it says HELLO', async () => {
    const client = io(server.url, { transports: ['websocket'], forceNew: true });
    const lists: DeviceInfo[][] = [];
    client.on('devices', (payload) => lists.push(serverEventSchemas.devices.parse(payload)));
    try {
      await until(() => lists.length > 0, 'the first device list');
      expect(lists.at(-1)?.map((info) => info.deviceId)).not.toContain('5eed1d01');
      device.ignore.delete('INFO');
      await device.send(device.hello());
      await device.sendSamples(20);
      await until(() => lists.at(-1)?.some((info) => info.deviceId === '5eed1d01') === true, 'the real id in the list');
      expect(lists.at(-1)?.map((info) => info.deviceId)).toEqual(['5eed1d01']);
    } finally {
      client.close();
    }
  });
});
