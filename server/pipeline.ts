/**
 * One device's pipeline: transport -> calibration -> (pressure engine) -> fan-out.
 * It owns the transport, converts every raw sample to newtons on device time, measures
 * the rate actually received, and hands readings and status to whoever listens (the
 * live broadcaster; later the recorder and the device feedback). It never blocks on
 * them: listeners take the batch and return.
 */
import { defaultCalibration, type ForceCalibration } from '../calibration/calibration.ts';
import type { CreatedTransport } from '../device/registry.ts';
import type { RawSample, Transport, TransportStatus } from '../device/transport.ts';
import type { DeviceInfo, DeviceStatus } from './live/events.ts';

/** Calibrated readings as parallel arrays, device time in ms. */
export interface Readings {
  readonly tMs: number[];
  readonly forceN: number[];
  readonly raw: number[];
}

export interface PipelineListener {
  onReadings(deviceId: string, readings: Readings): void;
  onStatus(status: DeviceStatus): void;
  /** The device's identity or calibration changed (or it became known). */
  onInfo(info: DeviceInfo): void;
}

const STATUS_INTERVAL_MS = 1000;

export class DevicePipeline {
  readonly #transport: Transport;
  readonly #fixedCalibration: ForceCalibration | null;
  readonly #listener: PipelineListener;
  #calibration: ForceCalibration | null = null;
  #info: DeviceInfo | null = null;
  #statusTimer: NodeJS.Timeout | null = null;
  #rate = { samples: 0, firstUs: Number.NaN, lastUs: Number.NaN, rateHz: 0 };

  constructor(created: CreatedTransport, listener: PipelineListener) {
    this.#transport = created.transport;
    this.#fixedCalibration = created.calibration;
    this.#listener = listener;
  }

  get info(): DeviceInfo | null {
    return this.#info;
  }

  status(): DeviceStatus {
    return { ...this.#transport.status(), measuredRateHz: this.#rate.rateHz };
  }

  async start(): Promise<void> {
    await this.#transport.start({
      onSamples: (batch) => this.#onSamples(batch),
      onStatus: (status) => this.#onTransportStatus(status),
    });
    this.#statusTimer = setInterval(() => this.#publishStatus(), STATUS_INTERVAL_MS);
  }

  async stop(): Promise<void> {
    if (this.#statusTimer !== null) clearInterval(this.#statusTimer);
    this.#statusTimer = null;
    await this.#transport.stop();
  }

  #onTransportStatus(status: TransportStatus): void {
    this.#updateInfo(status);
    this.#listener.onStatus({ ...status, measuredRateHz: this.#rate.rateHz });
  }

  /** Learns (or re-learns, after a reconnect to another device) who the device is. */
  #updateInfo(status: TransportStatus): void {
    if (this.#info?.deviceId === status.deviceId && this.#info.sensor === status.sensor) return;
    this.#calibration = this.#fixedCalibration ?? defaultCalibration(status.sensor);
    this.#info = {
      deviceId: status.deviceId,
      spec: this.#transport.spec,
      transport: this.#transport.spec.split(':')[0] ?? '',
      sensor: status.sensor,
      calibration: this.#calibration.source,
    };
    this.#listener.onInfo(this.#info);
  }

  #onSamples(batch: readonly RawSample[]): void {
    const calibration = this.#calibration ?? defaultCalibration(this.#transport.status().sensor);
    const readings: Readings = { tMs: new Array<number>(batch.length), forceN: new Array<number>(batch.length), raw: new Array<number>(batch.length) };
    for (const [index, sample] of batch.entries()) {
      readings.tMs[index] = sample.deviceTimeUs / 1000;
      readings.forceN[index] = calibration.toNewtons(sample.raw);
      readings.raw[index] = sample.raw;
    }
    this.#countForRate(batch);
    this.#listener.onReadings(batch[0]?.deviceId ?? '', readings);
  }

  #countForRate(batch: readonly RawSample[]): void {
    const first = batch[0];
    const last = batch.at(-1);
    if (first === undefined || last === undefined) return;
    if (Number.isNaN(this.#rate.firstUs)) this.#rate.firstUs = first.deviceTimeUs;
    this.#rate.samples += batch.length;
    this.#rate.lastUs = last.deviceTimeUs;
  }

  /**
   * Received rate over device time since the last status: samples per device second.
   * The first sample of a window only marks its start, so n samples span n - 1 periods.
   */
  #publishStatus(): void {
    const spanUs = this.#rate.lastUs - this.#rate.firstUs;
    this.#rate.rateHz = spanUs > 0 ? ((this.#rate.samples - 1) * 1e6) / spanUs : 0;
    this.#rate = { samples: 0, firstUs: Number.NaN, lastUs: Number.NaN, rateHz: this.#rate.rateHz };
    this.#listener.onStatus(this.status());
  }
}
