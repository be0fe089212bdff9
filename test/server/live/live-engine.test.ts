// The pressure engine live: each device's pipeline runs it on device time and every
// client gets its events reliably; a client that connects during a warning sees it at
// once; a client can switch a device's preset, and bad requests are refused.
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../server/app.ts';
import type { EngineEvent } from '../../../server/engine/results.ts';
import { foldZoneChanges } from '../../../server/live/broadcaster.ts';
import { commandReplySchema, serverEventSchemas, type ClientToServerEvents, type DeviceInfo, type ServerToClientEvents, type SessionSnapshot } from '../../../server/contract/live-events.ts';
import { startTestServer } from '../../support/server.ts';
import { until } from '../../support/until.ts';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

interface Heard {
  events: EngineEvent[];
  sessions: SessionSnapshot[];
  devices: DeviceInfo[][];
}

function listen(url: string): { client: Client; heard: Heard } {
  const client: Client = io(url, { transports: ['websocket'], forceNew: true });
  const heard: Heard = { events: [], sessions: [], devices: [] };
  client.on('engine', (payload) => heard.events.push(...serverEventSchemas.engine.parse(payload).events));
  client.on('session', (payload) => heard.sessions.push(serverEventSchemas.session.parse(payload)));
  client.on('devices', (payload) => heard.devices.push(serverEventSchemas.devices.parse(payload)));
  return { client, heard };
}

describe('pressure engine, live', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startTestServer(['sim:over-pressure?rate=100&speed=10']);
  });
  afterAll(() => server.close());

  it('sends holds and over-pressure warnings to every client as they happen, with their figures', async () => {
    const { client, heard } = listen(server.url);
    const second = listen(server.url);
    try {
      await until(() => heard.events.some((event) => event.type === 'over.ended') && heard.events.some((event) => event.type === 'hold.ended'), 'a warning and a hold to end');
      await until(() => second.heard.events.filter((event) => event.type === 'over.ended').length >= 1, 'the warning at the second client');
      const warningsAt = (events: EngineEvent[]): unknown[] => events.filter((event) => event.type.startsWith('over.'));
      expect(warningsAt(second.heard.events).slice(0, 2)).toEqual(warningsAt(heard.events).slice(0, 2));
      const started = heard.events.find((event) => event.type === 'over.started');
      const ended = heard.events.find((event) => event.type === 'over.ended');
      if (started?.type !== 'over.started' || ended?.type !== 'over.ended') throw new Error('no warning');
      expect(started.warning.endMs).toBeNull();
      expect(started.tMs).toBe(started.warning.alertMs);
      expect(started.warning.alertMs - started.warning.startMs).toBeGreaterThanOrEqual(100);
      expect(ended.warning.startMs).toBe(started.warning.startMs);
      expect(ended.warning.endMs).not.toBeNull();
      expect(ended.warning.peakN).toBeGreaterThanOrEqual(45);
      const hold = heard.events.find((event) => event.type === 'hold.ended');
      if (hold?.type !== 'hold.ended') throw new Error('no hold');
      expect(hold.hold.durationMs).toBeGreaterThanOrEqual(3000);
      expect(hold.hold.peakN).toBeGreaterThanOrEqual(hold.hold.meanN);
    } finally {
      client.close();
      second.client.close();
    }
  });

  it('folds zone changes so a trembling force does not flood the link, but never loses where it ended', () => {
    const zone = (tMs: number, previous: 'below' | 'band' | null, next: 'below' | 'band'): EngineEvent => ({ type: 'zone.changed', tMs, zone: next, previous, forceN: 15 });
    const hold: EngineEvent = { type: 'hold.started', tMs: 40, startMs: 10 };
    expect(foldZoneChanges([zone(10, 'below', 'band'), zone(20, 'band', 'below'), zone(30, 'below', 'band'), hold])).toEqual([zone(30, 'below', 'band'), hold]);
    expect(foldZoneChanges([zone(10, 'below', 'band'), zone(20, 'band', 'below')])).toEqual([]);
    expect(foldZoneChanges([zone(10, null, 'band')])).toEqual([zone(10, null, 'band')]);
  });

  it('shows a client that connects during a warning the open warning at once', async () => {
    const watcher = listen(server.url);
    try {
      await until(() => watcher.heard.events.some((event) => event.type === 'over.started' && watcher.heard.events.indexOf(event) > watcher.heard.events.findLastIndex((other) => other.type === 'over.ended')), 'a warning to open');
      const late = listen(server.url);
      try {
        await until(() => late.heard.sessions.length > 0, 'the session snapshot');
        const snapshot = late.heard.sessions[0];
        expect(snapshot?.state.warning).not.toBeNull();
        expect(snapshot?.state.warning?.endMs).toBeNull();
        expect(snapshot?.warnings.at(-1)?.endMs).toBeNull();
      } finally {
        late.client.close();
      }
    } finally {
      watcher.client.close();
    }
  });

  it('switches a device to another preset for every client, and refuses bad requests', async () => {
    const deviceId = server.pipelines[0]?.info?.deviceId ?? '';
    const chooser = listen(server.url);
    const other = listen(server.url);
    try {
      await until(() => other.heard.devices.length > 0 && chooser.heard.devices.length > 0, 'the device list');
      expect(await chooser.client.timeout(5000).emitWithAck('selectPreset', { deviceId, preset: 'neck' })).toEqual({ ok: true });
      await until(() => other.heard.devices.at(-1)?.[0]?.preset === 'neck', 'the new preset at the other client');
      expect(other.heard.devices.at(-1)?.[0]?.engineConfig.overLimitN).toBe(25);
      await until(() => other.heard.sessions.length >= 2, 'a fresh session snapshot');

      expect(await chooser.client.timeout(5000).emitWithAck('selectPreset', { deviceId: 'ffffffff', preset: 'neck' })).toEqual({ ok: false, error: 'no device ffffffff on this server' });
      const untypedClient = chooser.client as unknown as Socket;
      const badReply: unknown = await untypedClient.timeout(5000).emitWithAck('selectPreset', { deviceId, preset: 'feet' });
      const badPreset = commandReplySchema.parse(badReply);
      expect(badPreset.ok).toBe(false);
      expect(badPreset.ok ? '' : badPreset.error).toMatch(/^selectPreset: preset: /);
      expect(server.pipelines[0]?.info?.preset).toBe('neck');
    } finally {
      chooser.client.close();
      other.client.close();
    }
  });
});
