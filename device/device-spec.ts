/**
 * Device spec strings pick a transport and its options, from the `--device` flag:
 *
 *   KIND[:TARGET][?NAME=VALUE&NAME=VALUE]
 *   sim    sim:over-pressure    sim:kneading?rate=1000&seed=7    serial?name=Couch%202
 *
 * Parsing here is only syntax; each transport validates its own target and options. One
 * option belongs to every kind and is taken out here: `name`, the device's display name
 * (device-name.ts says what a name may hold).
 */
import { deviceNameProblem } from './device-name.ts';

export class DeviceSpecError extends Error {
  override readonly name = 'DeviceSpecError';
}

export interface DeviceSpec {
  /** The string as given, for messages. */
  readonly text: string;
  readonly kind: string;
  /** What follows `KIND:` (a scenario, a port path, a file), or null. */
  readonly target: string | null;
  /** The kind's own options (without `name`). */
  readonly options: ReadonlyMap<string, string>;
  /** `?name=`: the device's display name, trimmed; null when not given. */
  readonly name: string | null;
}

const KIND_PATTERN = /^[a-z][a-z0-9-]*$/;

export function parseDeviceSpec(text: string): DeviceSpec {
  const trimmed = text.trim();
  const queryAt = trimmed.indexOf('?');
  const head = queryAt === -1 ? trimmed : trimmed.slice(0, queryAt);
  const query = queryAt === -1 ? '' : trimmed.slice(queryAt + 1);
  const colonAt = head.indexOf(':');
  const kind = colonAt === -1 ? head : head.slice(0, colonAt);
  const target = colonAt === -1 ? null : head.slice(colonAt + 1);
  if (!KIND_PATTERN.test(kind)) {
    throw new DeviceSpecError(`device spec "${text}": "${kind}" is not a device kind (expected e.g. sim, sim:treatment)`);
  }
  if (target === '') throw new DeviceSpecError(`device spec "${text}": nothing after "${kind}:"`);
  const options = new Map<string, string>();
  for (const pair of query === '' ? [] : query.split('&')) {
    const equalsAt = pair.indexOf('=');
    if (equalsAt <= 0) throw new DeviceSpecError(`device spec "${text}": option "${pair}" is not NAME=VALUE`);
    const name = pair.slice(0, equalsAt);
    if (options.has(name)) throw new DeviceSpecError(`device spec "${text}": option "${name}" is given twice`);
    options.set(name, decodeOption(text, name, pair.slice(equalsAt + 1)));
  }
  const name = takeName(text, options);
  return { text, kind, target, options, name };
}

function decodeOption(text: string, name: string, encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new DeviceSpecError(`device spec "${text}": ${name}=${encoded} is not valid percent-encoding (write a space as %20, a % as %25)`);
  }
}

/** Takes `name` out of the options (no transport sees it) and checks it. */
function takeName(text: string, options: Map<string, string>): string | null {
  const given = options.get('name');
  if (given === undefined) return null;
  options.delete('name');
  const name = given.trim();
  const problem = deviceNameProblem(name);
  if (problem !== null) {
    throw new DeviceSpecError(`device spec "${text}": name=${JSON.stringify(given)} is not a device name: it ${problem} (e.g. name=Couch%202)`);
  }
  return name;
}

/** Refuses any option the transport does not know, naming it and the known ones. */
export function rejectUnknownOptions(spec: DeviceSpec, known: readonly string[]): void {
  for (const name of spec.options.keys()) {
    if (!known.includes(name)) {
      throw new DeviceSpecError(`device spec "${spec.text}": unknown option "${name}" (known: ${known.join(', ')})`);
    }
  }
}

/** A numeric option within [min, max], or the fallback when absent. */
export function numberOption(spec: DeviceSpec, name: string, min: number, max: number, fallback: number): number {
  const text = spec.options.get(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    throw new DeviceSpecError(`device spec "${spec.text}": ${name}=${text} is not a number from ${min} to ${max}`);
  }
  return value;
}
