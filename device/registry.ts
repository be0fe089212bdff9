/**
 * The transport registry: maps the kind in a device spec (`sim`, `serial`, `firmata`,
 * `emulator`, `replay`) to the file that implements it. Adding a transport is adding a
 * file under `transports/` and a line here. Imports run one way: the registry imports
 * the transports, which import only `transport.ts` (never this file).
 */
import type { ForceCalibration } from './sensors.ts';
import { DeviceSpecError, parseDeviceSpec, type DeviceSpec } from './device-spec.ts';
import { FirmataTransport, parseFirmataSpec } from './transports/firmata.ts';
import { EmulatorTransport, parseEmulatorSpec } from './transports/emulator.ts';
import { parseReplaySpec, ReplayTransport, type ReplayContext } from './transports/replay.ts';
import { parseSerialSpec, SerialTransport } from './transports/serial.ts';
import { parseSimulatorSpec, SimulatorTransport } from './transports/simulator.ts';
import type { Transport, TransportContext as DeviceContext } from './transport.ts';

/**
 * What the CLI knows that a transport may need: every kind's context (transport.ts) and
 * what replays need besides (`--speed`, where the recordings come from).
 */
export interface TransportContext extends DeviceContext, Omit<ReplayContext, 'instance'> {}

/** A transport together with the calibration it comes with, if it knows one. */
export interface CreatedTransport {
  readonly transport: Transport;
  /** A calibration the transport itself guarantees (the simulator's exact curve), or null. */
  readonly calibration: ForceCalibration | null;
  /** The display name given by `?name=` in its spec (null or absent: none given). */
  readonly name?: string | null;
}

interface TransportKind {
  readonly usage: string;
  /** Takes its id from `--device-id` (its device has none of its own). */
  readonly takesDeviceId?: boolean;
  /** Validates the spec and builds the transport; throws `DeviceSpecError` naming what is wrong. */
  create(spec: DeviceSpec, context: TransportContext): CreatedTransport;
}

const TRANSPORT_KINDS: Record<string, TransportKind> = {
  sim: {
    usage: 'sim[:treatment|over-pressure|kneading|idle|ppt][?rate=HZ&seed=N&loss=P&speed=X|max&sensor=fsr|hx711&gain=G]; sim:weights[?loads=N,N,...&holdS=S] (a calibration bench)',
    create(spec, context) {
      const transport = new SimulatorTransport(parseSimulatorSpec(spec, context));
      return { transport, calibration: transport.calibration };
    },
  },
  serial: {
    usage: 'serial[:PATH][?baud=N&id=DEVICE_ID]  (no PATH: auto-detect; npm run ports lists them)',
    create(spec) {
      return { transport: new SerialTransport(parseSerialSpec(spec)), calibration: null };
    },
  },
  firmata: {
    usage: 'firmata[:PATH|:emulator][?rate=HZ&baud=N&feedback=MASK&timeout=MS]  (StandardFirmata; no PATH: auto-detect; emulator: &scenario=NAME&seed=N)',
    takesDeviceId: true,
    create(spec, context) {
      const transport = new FirmataTransport(parseFirmataSpec(spec, context));
      return { transport, calibration: transport.calibration };
    },
  },
  emulator: {
    usage: 'emulator[:fsr|hx711][?scenario=treatment|over-pressure|kneading|idle|ppt&seed=N]  (our firmware in simavr)',
    create(spec, context) {
      const transport = new EmulatorTransport(parseEmulatorSpec(spec, context));
      return { transport, calibration: transport.calibration };
    },
  },
  replay: {
    usage: 'replay:SESSION_ID|FILE.csv[?speed=X|max]  (a recorded session, or a t_ms,force_n trace; --speed sets the default)',
    create(spec, context) {
      const transport = new ReplayTransport(parseReplaySpec(spec, context));
      return { transport, calibration: transport.calibration };
    },
  },
};

/** One line per transport kind, for `--help`. */
export function deviceSpecUsage(): string[] {
  const kinds = Object.values(TRANSPORT_KINDS).map((kind) => kind.usage);
  return [...kinds, 'any kind: name=TEXT among its options sets the name the dashboard shows, e.g. serial?name=Couch%202'];
}

/** Whether a spec's device takes its id from `--device-id` (it has none of its own); false for a malformed spec. */
export function kindTakesDeviceId(specText: string): boolean {
  try {
    return TRANSPORT_KINDS[parseDeviceSpec(specText).kind]?.takesDeviceId === true;
  } catch {
    return false;
  }
}

export function createTransport(specText: string, context: TransportContext): CreatedTransport {
  const spec = parseDeviceSpec(specText);
  const kind = TRANSPORT_KINDS[spec.kind];
  if (kind === undefined) {
    throw new DeviceSpecError(`device spec "${specText}": unknown device kind "${spec.kind}" (known: ${Object.keys(TRANSPORT_KINDS).join(', ')})`);
  }
  if (context.deviceId !== undefined && kind.takesDeviceId !== true) {
    throw new DeviceSpecError(`--device-id ${context.deviceId} names "${specText}", whose device has an id of its own: --device-id is for firmata devices`);
  }
  return { ...kind.create(spec, context), name: spec.name };
}
