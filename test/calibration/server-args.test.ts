// The server's --data-dir: profiles in DIR/calibration, the recording in DIR/knotmeter.db
// unless --db says otherwise; and `npm start` with it runs a device on its profile.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { fitCalibration } from '../../calibration/fit.ts';
import { newProfileEntry } from '../../calibration/profile.ts';
import { DEFAULT_DATA_DIR, FileProfileStore } from '../../calibration/store.ts';
import { parseDeviceSpec } from '../../device/device-spec.ts';
import { parseSimulatorSpec } from '../../device/transports/simulator.ts';
import { parseServerArgs } from '../../server/cli/start-args.ts';
import { UsageError } from '../../server/cli/support.ts';
import { serverEventSchemas, type DeviceInfo } from '../../server/contract/live-events.ts';
import { DEFAULT_DB_PATH } from '../../server/recording/recording.ts';
import { spawnTsx, waitForLine } from '../support/cli.ts';
import { until } from '../support/until.ts';

describe('--data-dir', () => {
  it('holds the profiles and, by default, the recording', () => {
    const sqlite = (path: string) => ({ kind: 'sqlite', path });
    expect(parseServerArgs([])).toMatchObject({ dataDir: DEFAULT_DATA_DIR, store: sqlite(DEFAULT_DB_PATH) });
    expect(DEFAULT_DB_PATH).toBe(join(DEFAULT_DATA_DIR, 'knotmeter.db'));
    expect(parseServerArgs(['--data-dir', '/srv/knotmeter'])).toMatchObject({ dataDir: '/srv/knotmeter', store: sqlite('/srv/knotmeter/knotmeter.db') });
    expect(parseServerArgs(['--data-dir', '/srv/knotmeter', '--db', '/var/db/sessions.db'])).toMatchObject({ dataDir: '/srv/knotmeter', store: sqlite('/var/db/sessions.db') });
    expect(() => parseServerArgs(['--data-dir', ' '])).toThrow(UsageError);
    expect(() => parseServerArgs(['--data-dir', ' '])).toThrow(/--data-dir needs a directory/);
  });

  it('npm start -- --data-dir DIR runs a device on the profile saved there', { timeout: 60_000 }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'knotmeter-start-data-dir-'));
    const spec = 'sim:weights?gain=1.2';
    const { deviceId } = parseSimulatorSpec(parseDeviceSpec(spec), { instance: 0, seed: 9 });
    const points = [
      { raw: 300, forceN: 10, massKg: null, sdRaw: null, kind: 'load' as const },
      { raw: 460, forceN: 20, massKg: null, sdRaw: null, kind: 'load' as const },
    ];
    new FileProfileStore(dataDir).append(deviceId, newProfileEntry(fitCalibration({ sensor: 'fsr', tareRaw: 0, points }, 'test'), { madeWith: 'command' }));
    const child = spawnTsx('server/cli/start.ts', ['--port', '0', '--device', spec, '--seed', '9', '--data-dir', dataDir, '--log-level', 'warn']);
    try {
      const [, url] = await waitForLine(child, /Knotmeter dashboard: (http:\/\/127\.0\.0\.1:\d+)/);
      const client = io(url ?? '', { transports: ['websocket'], forceNew: true });
      let devices: DeviceInfo[] = [];
      client.on('devices', (payload) => (devices = serverEventSchemas.devices.parse(payload)));
      try {
        await until(() => devices[0]?.calibration === 'profile', 'the device on its profile');
        expect(devices[0]).toMatchObject({ deviceId, calibrationDetail: { profile: { madeWith: 'command', points: 2 } } });
      } finally {
        client.close();
      }
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('close', resolve));
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
