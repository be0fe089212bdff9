/**
 * Device -> host messages of protocol v1 (device/PROTOCOL.md): the codec the serial
 * transport runs on every line the line guard lets through. A line becomes one typed
 * message, or a drop reason: framing, checksum, field count and every range are checked
 * before anything is returned, so nothing half-parsed reaches the pipeline. The encoder
 * is the inverse (for tests, benches and anything playing a device).
 *
 *   decodeDeviceLine('$S,7,140000,512*7B', 'fsr')  // { ok: true, message: { type: 'S', seq: 7, tUs: 140000, raw: 512 } }
 *   decodeDeviceLine('$S,7,140000,512*00', 'fsr')  // { ok: false, reason: 'checksum' }
 *
 * `MARK` (the thumb button, firmware 1.2.0, a v1 extension) is checked through zod after its
 * integers are read. Sample lines are parsed by hand rather than through zod: this runs for every sample
 * (up to 1000 a second per device), and the checks are a handful of integer bounds.
 */
import { z } from 'zod';
import { DEVICE_ID_PATTERN } from '../device-id.ts';
import type { SensorKind } from '../transport.ts';
import type { DropReason } from './drop-reasons.ts';
import { frame, unframe } from './framing.ts';
import { HOST_COMMAND_NAMES, NAK_REASONS, type HostCommandName, type NakReason } from './host-commands.ts';

export const PROTOCOL_VERSION = 1;
export const SEQ_MODULUS = 0x1_0000;
export const DEVICE_CLOCK_MODULUS_US = 0x1_0000_0000;

/** Raw counts each sensor kind can report (fsr: 10-bit ADC; hx711: signed 24-bit). */
export const RAW_RANGE: Record<SensorKind, { readonly min: number; readonly max: number }> = {
  fsr: { min: 0, max: 1023 },
  hx711: { min: -0x80_0000, max: 0x7f_ffff },
};
/** Before the sensor is known (no HELLO yet), a raw value must fit one of them. */
const ANY_RAW = { min: -0x80_0000, max: 0x7f_ffff };
/** The highest sample rate each sensor kind allows (the link may cap it lower). */
export const SENSOR_MAX_RATE_HZ: Record<SensorKind, number> = { fsr: 1000, hx711: 80 };
/**
 * The firmware's default alarm ceiling per sensor, raw counts (device/firmware/Makefile's
 * CEILING_FSR / CEILING_HX711: 90 N on each default curve). No `LIMIT` may go above the
 * ceiling; a HELLO without one (firmware before 1.2.0) is taken to have this one.
 */
export const DEFAULT_ALARM_CEILING_RAW: Record<SensorKind, number> = { fsr: 767, hx711: 3_852_000 };

export interface HelloMessage {
  readonly type: 'HELLO';
  readonly protocolVersion: 1;
  /** Semver, e.g. `1.0.0`. */
  readonly firmwareVersion: string;
  /** 8 lowercase hex digits, stable across reboots. */
  readonly deviceId: string;
  readonly sensor: SensorKind;
  readonly rateHz: number;
  /** The device's local alarm thresholds in raw counts; both 0 = off (firmware before 1.2.0). */
  readonly limitOnRaw: number;
  readonly limitOffRaw: number;
  /**
   * The ninth field (firmware 1.2.0 on): the highest `limitOnRaw` the device accepts, raw
   * counts. Absent in an 8-field HELLO: read it with alarmCeilingRaw().
   */
  readonly alarmCeilingRaw?: number;
}
export interface SampleMessage {
  readonly type: 'S';
  /** uint16, wraps 65535 -> 0. */
  readonly seq: number;
  /** uint32 device clock, wraps after ~71.6 min. */
  readonly tUs: number;
  readonly raw: number;
}
export interface AlarmMessage {
  readonly type: 'ALARM';
  readonly on: boolean;
  readonly tUs: number;
  readonly raw: number;
}
export interface AckMessage {
  readonly type: 'ACK';
  readonly command: HostCommandName;
}
export interface NakMessage {
  readonly type: 'NAK';
  /** null where the device could not read which command it was (`NAK,?,...`). */
  readonly command: HostCommandName | null;
  readonly reason: NakReason;
}
/**
 * The thumb button was pressed (debounced on the chip): `$MARK,<n>,<t_us>*HH`. A v1
 * extension (firmware 1.2.0): a host that does not know it drops it as `unknown`.
 */
export const markMessageSchema = z.strictObject({
  type: z.literal('MARK'),
  /** Presses since the device booted, from 0, uint16 wrapping 65535 -> 0: a gap is a lost MARK. */
  seq: z.number().int().min(0).max(SEQ_MODULUS - 1),
  /** uint32 device clock when the press began (its first edge), the samples' clock. */
  tUs: z.number().int().min(0).max(DEVICE_CLOCK_MODULUS_US - 1),
});
export type MarkMessage = z.infer<typeof markMessageSchema>;
export type FaultCode = 'nodata' | 'rail';
export interface FaultMessage {
  readonly type: 'FAULT';
  readonly code: FaultCode;
}
export type DeviceMessage = HelloMessage | SampleMessage | AlarmMessage | MarkMessage | AckMessage | NakMessage | FaultMessage;

export type DecodeResult = { readonly ok: true; readonly message: DeviceMessage } | { readonly ok: false; readonly reason: DropReason };

const FAULT_CODES: readonly FaultCode[] = ['nodata', 'rail'];
const SEMVER = /^[0-9]{1,5}\.[0-9]{1,5}\.[0-9]{1,5}(?:[-+][0-9A-Za-z.-]{1,20})?$/;

/** A decimal integer field: digits with an optional leading `-`; NaN when it is not one. */
function parseInteger(text: string | undefined): number {
  if (text === undefined || text.length === 0 || text.length > 11) return Number.NaN;
  let index = text.charCodeAt(0) === 0x2d ? 1 : 0;
  if (index === text.length) return Number.NaN;
  let value = 0;
  for (; index < text.length; index++) {
    const digit = text.charCodeAt(index) - 0x30;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  return text.charCodeAt(0) === 0x2d && value !== 0 ? -value : value;
}

const drop = (reason: DropReason): DecodeResult => ({ ok: false, reason });
const inRange = (value: number, min: number, max: number): boolean => value >= min && value <= max;

/**
 * Decodes one line (without its `\n`; a `\r` before it is allowed). `sensor` bounds raw
 * values once the device has said what it is; before that, any 24-bit value passes.
 *
 * A device that resets while sending cuts its line short and starts the next one (its boot
 * HELLO) right after, with no `\n` between: `$S,15,5$HELLO,...*30`. The frame after the
 * last `$` is decoded on its own (it must pass its own checksum), so the HELLO that says
 * the device rebooted is not lost with the cut line before it.
 */
export function decodeDeviceLine(line: string, sensor: SensorKind | null = null): DecodeResult {
  const rawRange = sensor === null ? ANY_RAW : RAW_RANGE[sensor];
  const sample = decodeSampleLine(line, rawRange);
  if (sample !== null) return sample;
  const lastFrameAt = line.lastIndexOf('$');
  if (lastFrameAt > 0) return decodeDeviceLine(line.slice(lastFrameAt), sensor);
  const framed = unframe(line);
  if (!framed.ok) return framed;
  const fields = framed.body.split(',');
  switch (fields[0]) {
    case 'S': {
      if (fields.length !== 4) return drop('syntax');
      const seq = parseInteger(fields[1]);
      const tUs = parseInteger(fields[2]);
      const raw = parseInteger(fields[3]);
      if (Number.isNaN(seq) || Number.isNaN(tUs) || Number.isNaN(raw)) return drop('syntax');
      if (!inRange(seq, 0, SEQ_MODULUS - 1) || !inRange(tUs, 0, DEVICE_CLOCK_MODULUS_US - 1) || !inRange(raw, rawRange.min, rawRange.max)) return drop('range');
      return { ok: true, message: { type: 'S', seq, tUs, raw } };
    }
    case 'ALARM': {
      if (fields.length !== 4) return drop('syntax');
      const on = parseInteger(fields[1]);
      const tUs = parseInteger(fields[2]);
      const raw = parseInteger(fields[3]);
      if (Number.isNaN(on) || Number.isNaN(tUs) || Number.isNaN(raw)) return drop('syntax');
      if (!inRange(on, 0, 1) || !inRange(tUs, 0, DEVICE_CLOCK_MODULUS_US - 1) || !inRange(raw, rawRange.min, rawRange.max)) return drop('range');
      return { ok: true, message: { type: 'ALARM', on: on === 1, tUs, raw } };
    }
    case 'MARK': {
      if (fields.length !== 3) return drop('syntax');
      const seq = parseInteger(fields[1]);
      const tUs = parseInteger(fields[2]);
      if (Number.isNaN(seq) || Number.isNaN(tUs)) return drop('syntax');
      const mark = markMessageSchema.safeParse({ type: 'MARK', seq, tUs });
      return mark.success ? { ok: true, message: mark.data } : drop('range');
    }
    case 'HELLO':
      return decodeHello(fields);
    case 'ACK': {
      if (fields.length !== 2) return drop('syntax');
      const command = commandName(fields[1]);
      return command === null ? drop('range') : { ok: true, message: { type: 'ACK', command } };
    }
    case 'NAK': {
      if (fields.length !== 3) return drop('syntax');
      const command = fields[1] === '?' ? null : commandName(fields[1]);
      const reason = NAK_REASONS.find((known) => known === fields[2]);
      if ((command === null && fields[1] !== '?') || reason === undefined) return drop('range');
      return { ok: true, message: { type: 'NAK', command, reason } };
    }
    case 'FAULT': {
      if (fields.length !== 2) return drop('syntax');
      const code = FAULT_CODES.find((known) => known === fields[1]);
      return code === undefined ? drop('range') : { ok: true, message: { type: 'FAULT', code } };
    }
    default:
      return drop('unknown');
  }
}

/** Uppercase hex digit value, or -1. */
function hexDigit(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10;
  return -1;
}

/**
 * The hot path: a well-formed `$S,<seq>,<t_us>,<raw>*HH` line in one pass (checksum and
 * fields together, no split, no substrings). Anything unusual returns null and goes the
 * general way, which finds the exact drop reason; so this only ever accepts what the
 * general path accepts, and faster.
 */
function decodeSampleLine(line: string, rawRange: { readonly min: number; readonly max: number }): DecodeResult | null {
  let end = line.length;
  if (end > 0 && line.charCodeAt(end - 1) === 0x0d) end--;
  const starAt = end - 3;
  if (starAt < 8 || line.charCodeAt(0) !== 0x24 || line.charCodeAt(1) !== 0x53 || line.charCodeAt(2) !== 0x2c || line.charCodeAt(starAt) !== 0x2a) return null;
  let sum = 0x53 ^ 0x2c;
  let seq = 0;
  let tUs = 0;
  let field = 0;
  let value = 0;
  let digits = 0;
  let negative = false;
  for (let index = 3; index < starAt; index++) {
    const code = line.charCodeAt(index);
    sum ^= code;
    if (code >= 0x30 && code <= 0x39) {
      if (++digits > 10) return null;
      value = value * 10 + (code - 0x30);
    } else if (code === 0x2c) {
      if (digits === 0 || field === 2) return null;
      if (field === 0) seq = value;
      else tUs = value;
      field++;
      value = 0;
      digits = 0;
    } else if (code === 0x2d && field === 2 && digits === 0 && !negative) {
      negative = true;
    } else {
      return null;
    }
  }
  if (field !== 2 || digits === 0) return null;
  // A bad digit (-1) makes the value negative, so it never equals the sum.
  if (((hexDigit(line.charCodeAt(starAt + 1)) << 4) | hexDigit(line.charCodeAt(starAt + 2))) !== sum) return null;
  const raw = negative && value !== 0 ? -value : value;
  if (seq >= SEQ_MODULUS || tUs >= DEVICE_CLOCK_MODULUS_US || raw < rawRange.min || raw > rawRange.max) return null;
  return { ok: true, message: { type: 'S', seq, tUs, raw } };
}

function commandName(text: string | undefined): HostCommandName | null {
  return HOST_COMMAND_NAMES.find((name) => name === text) ?? null;
}

/** The device's alarm ceiling: HELLO's ninth field, or the sensor's default where an older firmware sent 8. */
export function alarmCeilingRaw(hello: Pick<HelloMessage, 'sensor' | 'alarmCeilingRaw'>): number {
  return hello.alarmCeilingRaw ?? DEFAULT_ALARM_CEILING_RAW[hello.sensor];
}

function decodeHello(fields: readonly string[]): DecodeResult {
  // 8 fields up to firmware 1.1.0; 1.2.0 adds the alarm ceiling (a v1 extension).
  if (fields.length !== 8 && fields.length !== 9) return drop('syntax');
  const [, versionText, firmwareVersion = '', deviceId = '', sensorText, rateText, onText, offText, ceilingText] = fields;
  const version = parseInteger(versionText);
  const rateHz = parseInteger(rateText);
  const limitOnRaw = parseInteger(onText);
  const limitOffRaw = parseInteger(offText);
  const ceilingRaw = ceilingText === undefined ? null : parseInteger(ceilingText);
  if ([version, rateHz, limitOnRaw, limitOffRaw, ceilingRaw ?? 0].some(Number.isNaN) || !SEMVER.test(firmwareVersion) || !DEVICE_ID_PATTERN.test(deviceId)) return drop('syntax');
  if (version !== PROTOCOL_VERSION) return drop('version');
  if (sensorText !== 'fsr' && sensorText !== 'hx711') return drop('range');
  const sensor: SensorKind = sensorText;
  // The protocol promises an id that is never all zeros or all ones (an erased EEPROM).
  if (deviceId === '00000000' || deviceId === 'ffffffff') return drop('range');
  if (!inRange(rateHz, 10, SENSOR_MAX_RATE_HZ[sensor])) return drop('range');
  const limitsOff = limitOnRaw === 0 && limitOffRaw === 0;
  if (!limitsOff && !(limitOffRaw >= 0 && limitOffRaw < limitOnRaw && limitOnRaw <= RAW_RANGE[sensor].max)) return drop('range');
  const hello: HelloMessage = { type: 'HELLO', protocolVersion: PROTOCOL_VERSION, firmwareVersion, deviceId, sensor, rateHz, limitOnRaw, limitOffRaw };
  if (ceilingRaw === null) return { ok: true, message: hello };
  if (!inRange(ceilingRaw, 1, RAW_RANGE[sensor].max)) return drop('range');
  return { ok: true, message: { ...hello, alarmCeilingRaw: ceilingRaw } };
}

/** The message's body as the device sends it, e.g. `S,7,140000,512`. */
export function deviceMessageBody(message: DeviceMessage): string {
  switch (message.type) {
    case 'HELLO':
      return (
        `HELLO,${message.protocolVersion},${message.firmwareVersion},${message.deviceId},${message.sensor},${message.rateHz},${message.limitOnRaw},${message.limitOffRaw}` +
        (message.alarmCeilingRaw === undefined ? '' : `,${message.alarmCeilingRaw}`)
      );
    case 'S':
      return `S,${message.seq},${message.tUs},${message.raw}`;
    case 'ALARM':
      return `ALARM,${message.on ? 1 : 0},${message.tUs},${message.raw}`;
    case 'MARK':
      return `MARK,${message.seq},${message.tUs}`;
    case 'ACK':
      return `ACK,${message.command}`;
    case 'NAK':
      return `NAK,${message.command ?? '?'},${message.reason}`;
    case 'FAULT':
      return `FAULT,${message.code}`;
  }
}

/** The framed line with its `\n`, as the firmware sends it. */
export function encodeDeviceMessage(message: DeviceMessage): string {
  return `${frame(deviceMessageBody(message))}\n`;
}
