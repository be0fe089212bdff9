/**
 * The transport interface: the first stage of the pipeline. A transport turns one
 * massager (simulated, our firmware on a serial port, a Firmata board, a replay) into a
 * stream of raw samples on the device's own clock, plus a status that says how healthy
 * the link is. Everything downstream is blind to which implementation produced a sample.
 *
 *   const { transport } = createTransport('sim:treatment', { instance: 0, seed: 7 }); // registry.ts
 *   await transport.start({ onSamples: (batch) => ..., onStatus: (status) => ... });
 *   ...
 *   await transport.stop();
 */

import { z } from 'zod';

export const sensorKindSchema = z.enum(['fsr', 'hx711']);
export type SensorKind = z.infer<typeof sensorKindSchema>;

export interface RawSample {
  readonly deviceId: string;
  /** Samples taken since the device started, unwrapped (never wraps, may skip on loss). */
  readonly seq: number;
  /** Device time in microseconds, unwrapped and monotonic. */
  readonly deviceTimeUs: number;
  /** Raw counts as the sensor reports them (0..1023 for `fsr`, signed 24-bit for `hx711`). */
  readonly raw: number;
}

const count = z.number().int().nonnegative();

/**
 * A press of the device's thumb button (debounced where it is read), on the device's
 * clock: what a person at the massager signals with it (the onset of pain in an
 * algometer trial). Our firmware sends it as `MARK` (device/PROTOCOL.md); a Firmata board
 * has it read on a pin; the simulator presses it in its `ppt` scenario or on demand.
 */
export interface DeviceMark {
  readonly deviceId: string;
  /** Presses since the transport started, from 0, increasing; a jump is presses lost on the way (`lostBefore`). */
  readonly seq: number;
  /** When the press began, on the samples' timeline (`RawSample.deviceTimeUs`), microseconds. */
  readonly deviceTimeUs: number;
  /** Presses lost right before this one (never arrived). */
  readonly lostBefore: number;
}

/**
 * The link's health as the transport sees it. A schema, not just a type: the dashboard
 * receives it over socket.io and validates it with the same definition.
 */
export const transportStatusSchema = z.strictObject({
  state: z.enum(['connecting', 'connected', 'disconnected', 'stopped']),
  deviceId: z.string().min(1),
  /**
   * Where `deviceId` comes from for a device with no id of its own (Firmata): `flag`, the
   * server's `--device-id`; `port`, a hash of the port it is on. Absent (or `device`): the
   * device's own id.
   */
  deviceIdSource: z.enum(['device', 'flag', 'port']).optional(),
  sensor: sensorKindSchema,
  /** Where sample times come from: the device's own clock, or (Firmata) the host's. */
  clock: z.enum(['device', 'host']),
  /** Firmware name and version as the device reports it, or the simulator's own. */
  firmware: z.string(),
  /** The rate the device was asked to sample at. */
  nominalRateHz: z.number().positive(),
  /**
   * The device's own alarm ceiling, raw counts, as it reports it (our firmware's HELLO; the
   * build default for a firmware too old to say): no over-pressure limit on the device goes
   * above it. Absent for a device without an alarm of its own or before it has said HELLO.
   */
  alarmCeilingRaw: z.number().int().positive().optional(),
  /** Samples received since the transport started. */
  samples: count,
  /** Samples the device took but the host never received (sequence gaps). */
  lostSamples: count,
  /** Lines or frames dropped as malformed, by reason. */
  droppedLines: z.record(z.string(), count),
  lastError: z.string().nullable(),
});
export type TransportStatus = z.infer<typeof transportStatusSchema>;
export type LinkState = TransportStatus['state'];

/**
 * What a transport's samples are and what its device allows, stated by the transport so
 * that nothing downstream asks which kind it is. A schema: the dashboard reads it in the
 * device's info.
 */
export const transportCapabilitiesSchema = z.strictObject({
  /** Its samples carry forces already in newtons (recorded before): convert them with its own calibration, never through a profile. */
  forcesCalibrated: z.boolean(),
  /** A person can calibrate it: tare, capture known loads, save a profile for its id. */
  calibratable: z.boolean(),
  /** It plays back one recording, which ends: recorded anew as one session, from its first sample to its last. */
  playsRecording: z.boolean(),
});
export type TransportCapabilities = z.infer<typeof transportCapabilitiesSchema>;

/** A device sensing live: raw counts to calibrate, sessions cut by presses and pauses. */
export const LIVE_DEVICE: TransportCapabilities = Object.freeze({ forcesCalibrated: false, calibratable: true, playsRecording: false });

/** What the command line knows that a transport may need; the registry passes it to every kind. */
export interface TransportContext {
  /** Position of this device among the `--device` flags, from 0. */
  readonly instance: number;
  /** `--seed`, if given: the simulator's seed (plus `instance`). */
  readonly seed: number | undefined;
  /** `--device-id` given for this device: the id of a device that has none of its own (Firmata). */
  readonly deviceId?: string | undefined;
}

export interface TransportListener {
  /** Samples in device-time order; a batch is never empty. */
  onSamples(batch: readonly RawSample[]): void;
  /** Called whenever the status changes in a way other than the sample counter. */
  onStatus(status: TransportStatus): void;
  /** The thumb button was pressed (transports whose device has one; in press order). */
  onMark?(mark: DeviceMark): void;
}

/** The status LED's zone (`ZONE` in protocol v1): the engine's zone names mapped to the wire values. */
export const DEVICE_ZONE = { below: 0, band: 1, above: 2, over: 3 } as const;
export type DeviceZone = (typeof DEVICE_ZONE)[keyof typeof DEVICE_ZONE];

/**
 * Feedback on the device itself, for transports whose device has it (our firmware over
 * serial): the host keeps the device's own over-pressure alarm in step with the active
 * preset, and its status LED with the engine's zone. The transport remembers the last
 * values asked for and sends them again after a reboot or a reconnect. Each promise
 * resolves once the device has applied the value, and rejects with an error naming the
 * command and the reason when the device refuses it, does not answer, or is not attached
 * (the value is still remembered and sent when it attaches).
 */
export interface DeviceFeedback {
  /**
   * The device's local alarm, in raw counts: on at raw >= `onRaw`, off again at raw <=
   * `offRaw` (0 <= offRaw < onRaw within the sensor's range; 0, 0 turns it off). Convert
   * the preset's overLimitN / overClearN with the device's `calibration.toRaw`.
   */
  setOverLimit(onRaw: number, offRaw: number): Promise<void>;
  /** The status LED: 0 below the band (off), 1 in band (on), 2 above (slow blink), 3 over the limit (fast blink). */
  setZone(zone: DeviceZone): Promise<void>;
}

export interface Transport {
  /** The spec this transport was made from, in canonical form (e.g. `sim:treatment?rate=100`). */
  readonly spec: string;
  /** What its samples are and what its device allows (LIVE_DEVICE for a sensor read live). */
  readonly capabilities: TransportCapabilities;
  /** Present when the device can show feedback itself (see DeviceFeedback). */
  readonly feedback?: DeviceFeedback;
  /**
   * Present when the device zeroes itself on request (`TARE`: our firmware re-zeros an
   * hx711's offset from 16 samples; an fsr ACKs and does nothing). Calibration's tare sends
   * it before measuring the zero. Rejects, naming why, when the device refuses or is away.
   */
  tare?(): Promise<void>;
  /** The current status, sample counter included. */
  status(): TransportStatus;
  /** Begins producing samples; resolves once the device is attached or a retry loop runs. */
  start(listener: TransportListener): Promise<void>;
  /** Stops producing samples and releases the device; idempotent. */
  stop(): Promise<void>;
}
