// The pipeline keeps a device's own feedback in step with the engine: the local alarm's
// limit in raw counts (through the device's calibration) when the device becomes known
// and when the preset changes, and the LED zone at most once per batch. The transport
// here is a stand-in that records what it is asked; the serial transport's own tests show
// those requests reaching real firmware as LIMIT and ZONE.
import { describe, expect, it } from 'vitest';
import { defaultCalibration } from '../../device/sensors.ts';
import { LIVE_DEVICE, type DeviceFeedback, type DeviceZone, type RawSample, type Transport, type TransportListener, type TransportStatus } from '../../device/transport.ts';
import { presetConfig } from '../../server/engine/presets.ts';
import { DevicePipeline, fanOut } from '../../server/pipeline.ts';

class RecordingTransport implements Transport {
  readonly spec = 'test:feedback';
  readonly capabilities = LIVE_DEVICE;
  readonly requests: string[] = [];
  readonly feedback: DeviceFeedback = {
    setOverLimit: (onRaw: number, offRaw: number) => {
      this.requests.push(`LIMIT,${onRaw},${offRaw}`);
      return Promise.resolve();
    },
    setZone: (zone: DeviceZone) => {
      this.requests.push(`ZONE,${zone}`);
      return Promise.resolve();
    },
  };
  listener: TransportListener | null = null;

  status(): TransportStatus {
    return { state: 'connected', deviceId: '1a2b3c4d', sensor: 'fsr', clock: 'device', firmware: 'test', nominalRateHz: 100, samples: 0, lostSamples: 0, droppedLines: {}, lastError: null };
  }
  start(listener: TransportListener): Promise<void> {
    this.listener = listener;
    listener.onStatus(this.status());
    return Promise.resolve();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  /** Samples at 100 Hz holding `forceN`, through the default FSR curve. */
  send(fromMs: number, count: number, forceN: number): void {
    const raw = defaultCalibration('fsr').toRaw(forceN);
    const batch: RawSample[] = Array.from({ length: count }, (_, index) => ({ deviceId: '1a2b3c4d', seq: fromMs / 10 + index, deviceTimeUs: (fromMs + index * 10) * 1000, raw }));
    this.listener?.onSamples(batch);
  }
}

const quiet = fanOut({ onReadings: () => undefined, onEngineEvents: () => undefined, onStatus: () => undefined, onInfo: () => undefined, onSession: () => undefined });

describe('device feedback from the pipeline', () => {
  it('sends the limit in raw counts when the device becomes known and when the preset changes', async () => {
    const transport = new RecordingTransport();
    const pipeline = new DevicePipeline({ transport, calibration: null }, { preset: 'shoulders', config: presetConfig('shoulders') }, quiet);
    await pipeline.start();
    const fsr = defaultCalibration('fsr');
    expect(transport.requests).toEqual([`LIMIT,${fsr.toRaw(45)},${fsr.toRaw(40)}`]);
    pipeline.selectPreset('neck');
    expect(transport.requests.at(-1)).toBe(`LIMIT,${fsr.toRaw(25)},${fsr.toRaw(22)}`);
    await pipeline.stop();
  });

  it('shows the zone on the LED once per batch, only when it changes', async () => {
    const transport = new RecordingTransport();
    const pipeline = new DevicePipeline({ transport, calibration: null }, { preset: 'shoulders', config: presetConfig('shoulders') }, quiet);
    await pipeline.start();
    transport.send(0, 10, 0);
    transport.send(100, 10, 20);
    transport.send(200, 10, 21);
    transport.send(300, 10, 50);
    transport.send(400, 10, 2);
    expect(transport.requests.filter((request) => request.startsWith('ZONE'))).toEqual(['ZONE,0', 'ZONE,1', 'ZONE,3', 'ZONE,0']);
    await pipeline.stop();
  });
});
