// The live stream as any socket.io program sees it: a real server on an ephemeral port,
// real simulated devices, a real socket.io-client subscribing with no request of its own.
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../server/app.ts';
import { serverEventSchemas, type ClientToServerEvents, type DeviceInfo, type DeviceStatus, type ReadingsBatch, type ServerToClientEvents } from '../../../server/contract/live-events.ts';
import { startTestServer } from '../../support/server.ts';
import { until } from '../../support/until.ts';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

interface Received {
  devices: DeviceInfo[][];
  statuses: DeviceStatus[];
  history: ReadingsBatch[][];
  readings: { atMs: number; batches: ReadingsBatch[] }[];
}

function subscribe(url: string): { client: Client; received: Received } {
  const client: Client = io(url, { transports: ['websocket'], forceNew: true });
  const received: Received = { devices: [], statuses: [], history: [], readings: [] };
  client.on('devices', (list) => received.devices.push(serverEventSchemas.devices.parse(list)));
  client.on('status', (status) => received.statuses.push(serverEventSchemas.status.parse(status)));
  client.on('history', (batches) => received.history.push(serverEventSchemas.history.parse(batches)));
  client.on('readings', (batches) => received.readings.push({ atMs: performance.now(), batches: serverEventSchemas.readings.parse(batches) }));
  return { client, received };
}

function samplesOf(received: Received, deviceId: string): { tMs: number[]; forceN: number[] } {
  const batches = received.readings.flatMap((message) => message.batches).filter((batch) => batch.deviceId === deviceId);
  return { tMs: batches.flatMap((batch) => batch.tMs), forceN: batches.flatMap((batch) => batch.forceN) };
}

describe('live stream over socket.io', () => {
  let server: RunningServer;
  let slowId: string;
  let fastId: string;

  beforeAll(async () => {
    server = await startTestServer(['sim:treatment?rate=100', 'sim:kneading?rate=1000']);
    [slowId, fastId] = server.pipelines.map((pipeline) => pipeline.info?.deviceId ?? '') as [string, string];
  });
  afterAll(() => server.close());

  it('sends every device, its status and batched readings to a client that only connects', async () => {
    const { client, received } = subscribe(server.url);
    try {
      await until(() => samplesOf(received, fastId).tMs.length >= 3000 && samplesOf(received, slowId).tMs.length >= 300, '3 s of readings');
      expect(received.devices[0]?.map((device) => device.deviceId)).toEqual([slowId, fastId]);
      expect(received.devices[0]?.every((device) => device.transport === 'sim' && device.calibration === 'exact')).toBe(true);
      // A server alone, without --room: no room is named.
      expect(received.devices[0]?.map((device) => device.room)).toEqual([null, null]);
      const statusIds = new Set(received.statuses.map((status) => status.deviceId));
      expect(statusIds).toEqual(new Set([slowId, fastId]));
      expect(received.statuses.every((status) => status.state === 'connected')).toBe(true);
    } finally {
      client.close();
    }
  });

  it('batches readings by the 50 ms flush: every device in one message, in device-time order', async () => {
    const { client, received } = subscribe(server.url);
    try {
      await until(() => received.readings.length >= 40, '40 messages');
      const liveMessages = received.readings.slice(1);
      // A flush carries what came in since the last one: 50 ms, plus the simulator's 10 ms
      // tick. The median is what batching gives; a loaded machine may delay a single flush.
      const spansMs = liveMessages.flatMap((message) => message.batches.map((batch) => (batch.tMs.at(-1) ?? 0) - (batch.tMs[0] ?? 0))).sort((a, b) => a - b);
      expect(spansMs[Math.floor(spansMs.length / 2)]).toBeLessThanOrEqual(60);
      expect(liveMessages.filter((message) => message.batches.length === 2).length).toBeGreaterThan(liveMessages.length / 2);
      for (const message of liveMessages) expect(new Set(message.batches.map((batch) => batch.deviceId)).size).toBe(message.batches.length);
      for (const deviceId of [slowId, fastId]) {
        const { tMs } = samplesOf(received, deviceId);
        expect(tMs.every((time, index) => index === 0 || time > (tMs[index - 1] ?? 0))).toBe(true);
      }
    } finally {
      client.close();
    }
  });

  it.each([
    ['100 Hz', 100, () => slowId],
    ['1 kHz', 1000, () => fastId],
  ] as const)('delivers %s: the sample count over device time matches the rate within 2 %%', async (_label, rateHz, deviceId) => {
    const { client, received } = subscribe(server.url);
    try {
      await until(() => samplesOf(received, deviceId()).tMs.length >= rateHz * 4, '4 s of samples');
      const { tMs } = samplesOf(received, deviceId());
      const spanS = ((tMs.at(-1) ?? 0) - (tMs[0] ?? 0)) / 1000;
      const measuredHz = (tMs.length - 1) / spanS;
      expect(Math.abs(measuredHz - rateHz) / rateHz).toBeLessThan(0.02);
      const status = received.statuses.filter((candidate) => candidate.deviceId === deviceId()).at(-1);
      expect(status?.nominalRateHz).toBe(rateHz);
    } finally {
      client.close();
    }
  });

  it('gives a client that connects late the last 30 s at once, continuous with the live readings', async () => {
    await until(() => (server.pipelines[0]?.status().samples ?? 0) >= 500, '5 s of running');
    const { client, received } = subscribe(server.url);
    try {
      await until(() => received.history.length === 1 && received.readings.length >= 5, 'history and live readings');
      const history = received.history[0]?.find((batch) => batch.deviceId === slowId);
      expect(history?.tMs.length).toBeGreaterThanOrEqual(450);
      const historyEndMs = history?.tMs.at(-1) ?? 0;
      const liveStartMs = samplesOf(received, slowId).tMs[0] ?? 0;
      expect(liveStartMs).toBeGreaterThan(historyEndMs);
      expect(liveStartMs - historyEndMs).toBeLessThanOrEqual(10 + 0.001);
    } finally {
      client.close();
    }
  });

  it('reports the received rate and lost samples of a lossy link', async () => {
    const lossy = await startTestServer(['sim:treatment?rate=200&loss=0.1']);
    const { client, received } = subscribe(lossy.url);
    try {
      await until(() => received.statuses.filter((status) => status.measuredRateHz > 0).length >= 3, 'three measured statuses');
      const status = received.statuses.at(-1);
      expect(status?.lostSamples).toBeGreaterThan(0);
      expect(status?.measuredRateHz).toBeGreaterThan(150);
      expect(status?.measuredRateHz).toBeLessThan(195);
    } finally {
      client.close();
      await lossy.close();
    }
  });
});
