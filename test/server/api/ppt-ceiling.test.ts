// The preset from a PPT is bounded by the alarm ceiling the device reports, not the
// firmware's default: real server, real SQLite file, real serialport on a socat pty pair,
// a fake device playing firmware 1.2.0 whose HELLO says its ceiling was lowered to 600
// counts (42.55 N on the FSR's default curve, against the default 767 counts, 89.9 N).
// A 30 N PPT makes a preset under it; a 50 N one, which the default would take, is refused
// naming the device's ceiling.
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../../server/app.ts';
import { pptPresetPreviewSchema, type PptMeasurementInput } from '../../../server/contract/ppt.ts';
import { presetConfig } from '../../../server/engine/presets.ts';
import { defaultCalibration } from '../../../device/sensors.ts';
import { FakeDevice } from '../../device/serial/support/fake-device.ts';
import { PtyPair } from '../../device/serial/support/pty-pair.ts';
import { until } from '../../support/until.ts';
import { getJson, tempDir } from '../recording/support.ts';
import { rampSamples } from '../recording/ppt-support.ts';

const DEVICE_ID = '5eedce11';
const LOWERED_CEILING_RAW = 600;

describe('a preset from a PPT on a device whose alarm ceiling was lowered', () => {
  let dir: ReturnType<typeof tempDir>;
  let pair: PtyPair;
  let device: FakeDevice;
  let server: RunningServer;
  const post = (path: string, body: unknown) => getJson(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const preview = (knot: string) => getJson(`${server.url}/api/ppt/preset-preview?bodyArea=neck&knot=${encodeURIComponent(knot)}&deviceId=${DEVICE_ID}`);
  const measure = (knot: string, pptN: number) => {
    const body: PptMeasurementInput = { deviceId: DEVICE_ID, bodyArea: 'neck', knot, phase: 'before', trials: [rampSamples(pptN)] };
    return post('/api/ppt', body);
  };

  beforeAll(async () => {
    dir = tempDir('knotmeter-ppt-ceiling-');
    pair = await PtyPair.start(dir.path, 'lowered');
    device = new FakeDevice({ deviceId: DEVICE_ID, firmwareVersion: '1.2.0', sensor: 'fsr', rateHz: 100, alarmCeilingRaw: LOWERED_CEILING_RAW });
    await device.open(pair.devicePath);
    server = await startServer({ host: '127.0.0.1', port: 0, devices: [`serial:${pair.hostPath}`], seed: 1, engine: { preset: 'neck', config: presetConfig('neck') }, logger: pino({ level: 'silent' }), db: join(dir.path, 'ceiling.db'), dataDir: dir.path });
    await until(() => server.pipelines[0]?.info?.deviceId === DEVICE_ID, 'the device to say HELLO');
  });
  afterAll(async () => {
    await server.close();
    await device.close();
    await pair.stop();
    dir.remove();
  });

  it('reports the lowered ceiling in newtons and keeps the proposed limit under it', async () => {
    expect((await measure('left C5', 30)).status).toBe(201);
    const answer = await preview('left C5');
    expect(answer.status).toBe(200);
    const made = pptPresetPreviewSchema.parse(answer.body);
    const ceilingN = defaultCalibration('fsr').toNewtons(LOWERED_CEILING_RAW);
    expect(made.ceilingN).toBeCloseTo(ceilingN, 6);
    expect(made.ceilingN).toBeLessThan(defaultCalibration('fsr').toNewtons(767) / 2);
    expect(made.proposed).toMatchObject({ overLimitN: 30, bandLowN: 15, bandHighN: 24 });
  });

  it('refuses a PPT above the lowered ceiling that the default ceiling would have taken', async () => {
    expect((await measure('right C5', 50)).status).toBe(201);
    const answer = await preview('right C5');
    expect(answer).toMatchObject({ status: 422, body: { error: expect.stringMatching(/the PPT \(50 N\) is above the device's alarm ceiling \(42\.55 N\)/) as unknown } });
  });
});
