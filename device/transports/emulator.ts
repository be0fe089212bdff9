/**
 * The emulated massager: our real firmware (device/firmware, compiled for the ATmega328P)
 * running in the simavr harness (device/emulator), its sensor driven by the simulated
 * hand of device/simulator, read by the serial transport over the harness's pty. The
 * first stage of the pipeline for `npm start -- --device emulator` on a machine with no
 * massager: everything from the firmware's sampling and alarm to the host's line guard,
 * codec, timeline and feedback runs for real.
 *
 *   emulator[:fsr|hx711][?scenario=treatment|over-pressure|kneading|idle|ppt&seed=N]
 *
 * The `ppt` scenario also presses the emulated thumb button at each trial's threshold: the
 * firmware debounces it and sends MARK, which the serial transport passes on as a mark.
 *
 * Starting it builds the firmware and the harness when needed (make, a no-op when up to
 * date), gives the emulated device its own id (an EEPROM image with the identity record of
 * device/PROTOCOL.md, so two emulated devices differ), starts the harness in real time,
 * attaches a SerialTransport to its pty, then plays the scenario's forces through the
 * sensor's default curve. Samples, status and DeviceFeedback are the serial transport's.
 */
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exactCalibration, type ForceCalibration } from '../sensors.ts';
import { DeviceSpecError, numberOption, rejectUnknownOptions, type DeviceSpec } from '../device-spec.ts';
import { Emulator, MAKE_JOBS, runBuild, type ForceDrive } from '../emulator/emulator.ts';
import { SCENARIOS, type ScenarioName } from '../simulator/scenarios.ts';
import { LIVE_DEVICE, type DeviceFeedback, type DeviceZone, type SensorKind, type Transport, type TransportContext, type TransportListener, type TransportStatus } from '../transport.ts';
import { SerialTransport, type SerialDeviceEvent } from './serial.ts';

const FIRMWARE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'firmware');
/** The firmware's default build talks at 115200 baud (device/PROTOCOL.md). */
const FIRMWARE_BAUD_RATE = 115_200;
const EEPROM_BYTES = 1024;

export interface EmulatorTransportOptions {
  readonly sensor: SensorKind;
  readonly scenario: ScenarioName;
  readonly seed: number;
  /** The id the emulated device gets (8 lowercase hex digits). */
  readonly deviceId: string;
}

export function parseEmulatorSpec(spec: DeviceSpec, context: TransportContext): EmulatorTransportOptions {
  rejectUnknownOptions(spec, ['scenario', 'seed']);
  const sensor = spec.target ?? 'fsr';
  if (sensor !== 'fsr' && sensor !== 'hx711') {
    throw new DeviceSpecError(`device spec "${spec.text}": "${sensor}" is not a firmware build (emulator:fsr or emulator:hx711)`);
  }
  const scenario = spec.options.get('scenario') ?? 'treatment';
  if (!(SCENARIOS as readonly string[]).includes(scenario)) {
    throw new DeviceSpecError(`device spec "${spec.text}": unknown scenario "${scenario}" (known: ${SCENARIOS.join(', ')})`);
  }
  const seed = Math.trunc(numberOption(spec, 'seed', 0, 0xffff_ffff, (context.seed ?? Math.floor(Math.random() * 0xffff_0000)) + context.instance));
  return { sensor, scenario: scenario as ScenarioName, seed, deviceId: emulatedDeviceId(`emulator/${sensor}/${context.instance}`) };
}

/** 8 lowercase hex digits, never all zeros or ones (FNV-1a of what makes this device unique). */
function emulatedDeviceId(identity: string): string {
  let hash = 0x811c9dc5;
  for (const char of identity) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  if (hash === 0 || hash === 0xffff_ffff) hash = 0x1;
  return hash.toString(16).padStart(8, '0');
}

/** CRC-8/SMBUS (polynomial 0x07, initial 0), as the firmware checks its EEPROM records. */
function crc8(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

/**
 * A blank EEPROM but for the identity record (device/PROTOCOL.md, "EEPROM layout"):
 * magic `K`, layout 1, the id little-endian, CRC-8. The settings record stays blank, so
 * the firmware starts with its alarm off, as a new device does.
 */
export function eepromWithDeviceId(deviceId: string): Buffer {
  const image = Buffer.alloc(EEPROM_BYTES, 0xff);
  image[0] = 0x4b;
  image[1] = 1;
  image.writeUInt32LE(Number.parseInt(deviceId, 16), 2);
  image[6] = crc8(image.subarray(0, 6));
  return image;
}

/** The firmware hex for a sensor, built (or brought up to date) with make; its build takes a lock. */
export async function firmwareHex(sensor: SensorKind): Promise<string> {
  const hexPath = join(FIRMWARE_DIR, 'build', `knotmeter-${sensor}.hex`);
  // Without the AVR toolchain a hex built before is still good to run.
  if (!existsSync('/usr/bin/avr-g++') && existsSync(hexPath)) return hexPath;
  const { code, output } = await runBuild('make', ['-s', MAKE_JOBS, '-C', FIRMWARE_DIR]);
  if (code !== 0 || !existsSync(hexPath)) {
    throw new Error(`building the firmware failed (make -C device/firmware exited with ${code}); run \`npm run firmware\` to see why:\n${output}`);
  }
  return hexPath;
}

export class EmulatorTransport implements Transport {
  readonly spec: string;
  readonly capabilities = LIVE_DEVICE;
  readonly calibration: ForceCalibration;
  readonly feedback: DeviceFeedback;
  readonly #options: EmulatorTransportOptions;
  #listener: TransportListener | null = null;
  #state: TransportStatus['state'] = 'stopped';
  #emulator: Emulator | null = null;
  #serial: SerialTransport | null = null;
  #drive: ForceDrive | null = null;
  #eepromPath: string | null = null;
  #failure: string | null = null;
  #stopping = false;
  readonly #deviceListeners = new Set<(event: SerialDeviceEvent) => void>();

  constructor(options: EmulatorTransportOptions) {
    this.#options = options;
    this.spec = `emulator:${options.sensor}?scenario=${options.scenario}&seed=${options.seed}`;
    // The harness turns forces into inputs through the default curve: for it, that curve is exact.
    this.calibration = exactCalibration(options.sensor);
    this.feedback = {
      setOverLimit: async (onRaw, offRaw) => this.#attachedSerial('LIMIT').feedback.setOverLimit(onRaw, offRaw),
      setZone: async (zone: DeviceZone) => this.#attachedSerial('ZONE').feedback.setZone(zone),
    };
  }

  /** The serial transport on the emulator's pty, once started (for rate, streaming and device events). */
  get serial(): SerialTransport | null {
    return this.#serial;
  }

  /** The running emulator, once started (to watch its pins or drive its sensor). */
  get emulator(): Emulator | null {
    return this.#emulator;
  }

  /** Listens to the serial transport's device events (alarms, faults, reboots). */
  onDeviceEvent(listener: (event: SerialDeviceEvent) => void): () => void {
    this.#deviceListeners.add(listener);
    return () => this.#deviceListeners.delete(listener);
  }

  status(): TransportStatus {
    const base: TransportStatus = this.#serial?.status() ?? {
      state: this.#state,
      deviceId: this.#options.deviceId,
      sensor: this.#options.sensor,
      clock: 'device',
      firmware: '',
      nominalRateHz: 100,
      samples: 0,
      lostSamples: 0,
      droppedLines: {},
      lastError: null,
    };
    // Before its HELLO the serial transport only knows the pty; the id given to the EEPROM is known already.
    const known = { ...base, deviceId: this.#serial?.deviceId ?? this.#options.deviceId };
    if (this.#state === 'stopped') return { ...known, state: 'stopped' };
    return this.#failure === null ? known : { ...known, state: 'disconnected', lastError: this.#failure };
  }

  async start(listener: TransportListener): Promise<void> {
    if (this.#listener !== null) throw new Error(`${this.spec} is already started`);
    this.#listener = listener;
    this.#stopping = false;
    this.#state = 'connecting';
    listener.onStatus(this.status());
    try {
      const hexPath = await firmwareHex(this.#options.sensor);
      this.#eepromPath = join(tmpdir(), `knotmeter-emulator-${process.pid}-${this.#options.deviceId}.eeprom`);
      await writeFile(this.#eepromPath, eepromWithDeviceId(this.#options.deviceId));
      const emulator = await Emulator.start({ hexPath, sensor: this.#options.sensor, eepromPath: this.#eepromPath });
      this.#emulator = emulator;
      void emulator.exited.then(({ code, signal }) => this.#onEmulatorExit(code, signal));
      const serial = new SerialTransport({ path: emulator.ptyPath, baudRate: FIRMWARE_BAUD_RATE, deviceId: null });
      serial.onDeviceEvent((event) => {
        for (const deviceListener of this.#deviceListeners) deviceListener(event);
      });
      this.#serial = serial;
      await serial.start({
        onSamples: (batch) => this.#listener?.onSamples(batch),
        onStatus: () => this.#listener?.onStatus(this.status()),
        onMark: (mark) => this.#listener?.onMark?.(mark),
      });
      this.#state = 'connected';
      this.#drive = await emulator.driveForce({ kind: 'scenario', scenario: this.#options.scenario, seed: this.#options.seed });
    } catch (error) {
      await this.stop();
      throw new Error(`cannot start the emulated massager (${this.spec}): ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  async stop(): Promise<void> {
    if (this.#listener === null) return;
    this.#stopping = true;
    await this.#drive?.stop();
    await this.#serial?.stop();
    await this.#emulator?.stop();
    if (this.#eepromPath !== null) await rm(this.#eepromPath, { force: true });
    this.#drive = null;
    this.#emulator = null;
    this.#eepromPath = null;
    this.#state = 'stopped';
    const listener = this.#listener;
    this.#listener = null;
    listener.onStatus(this.status());
  }

  /** The firmware's TARE (hx711: re-zero its offset), for calibration's tare; see Transport.tare. */
  async tare(): Promise<void> {
    await this.#attachedSerial('TARE').tare();
  }

  #attachedSerial(command: string): SerialTransport {
    if (this.#serial === null) throw new Error(`${command} not sent: the emulated massager (${this.spec}) is not started`);
    return this.#serial;
  }

  #onEmulatorExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#stopping) return;
    this.#failure = `the emulator exited (code ${code}, signal ${signal ?? 'none'}); restart the server to start it again`;
    this.#listener?.onStatus(this.status());
  }
}
