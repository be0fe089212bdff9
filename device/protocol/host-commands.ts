/**
 * Host -> device commands of protocol v1 (device/PROTOCOL.md): their typed form, the
 * encoder the serial transport writes with, and the decoder a device (or a test playing
 * one) reads them with. Values are checked against what the protocol allows; the device
 * checks the rest (its sensor's rate cap, the link's rate cap, its raw range) and answers
 * `NAK,<CMD>,range`.
 *
 *   encodeHostCommand({ type: 'RATE', rateHz: 100 })   // '$RATE,100*1F\n'
 *   decodeHostLine('$ZONE,2*00')                       // { ok: true, command: { type: 'ZONE', zone: 2 } }
 */
import { z } from 'zod';
import { frame, unframe } from './framing.ts';

export const HOST_COMMAND_NAMES = ['INFO', 'STREAM', 'RATE', 'LIMIT', 'FEEDBACK', 'ZONE', 'TARE', 'CEILING'] as const;
export type HostCommandName = (typeof HOST_COMMAND_NAMES)[number];

/** `FEEDBACK` bits: which local outputs the device's alarm drives. */
export const FEEDBACK_LED = 1;
export const FEEDBACK_VIBRATION = 2;
export const FEEDBACK_BUZZER = 4;
export const FEEDBACK_ALL = FEEDBACK_LED | FEEDBACK_VIBRATION | FEEDBACK_BUZZER;

export const RATE_MIN_HZ = 10;
export const RATE_MAX_HZ = 1000;
/** Bounds of a `LIMIT` value over both sensor kinds (signed 24-bit); the device checks its own range. */
export const LIMIT_RAW_MAX = 0x7f_ffff;

const rawThreshold = z.number().int().min(0).max(LIMIT_RAW_MAX);

export const hostCommandSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('INFO') }),
  z.strictObject({ type: z.literal('STREAM'), on: z.boolean() }),
  z.strictObject({ type: z.literal('RATE'), rateHz: z.number().int().min(RATE_MIN_HZ).max(RATE_MAX_HZ) }),
  z
    .strictObject({ type: z.literal('LIMIT'), onRaw: rawThreshold, offRaw: rawThreshold })
    .refine((limit) => (limit.onRaw === 0 && limit.offRaw === 0) || limit.offRaw < limit.onRaw, {
      message: 'LIMIT needs offRaw < onRaw (or 0,0 to disable the alarm)',
    }),
  z.strictObject({ type: z.literal('FEEDBACK'), mask: z.number().int().min(0).max(FEEDBACK_ALL) }),
  z.strictObject({ type: z.literal('ZONE'), zone: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]) }),
  z.strictObject({ type: z.literal('TARE') }),
  /** Firmware 1.2.0: the alarm ceiling; refused `NAK,CEILING,locked` unless the thumb button was held at boot (10 s). */
  z.strictObject({ type: z.literal('CEILING'), ceilingRaw: z.number().int().min(1).max(LIMIT_RAW_MAX) }),
]);
export type HostCommand = z.infer<typeof hostCommandSchema>;

/** The command's body as it goes on the wire, e.g. `LIMIT,600,500`: also how errors name it. */
export function hostCommandBody(command: HostCommand): string {
  switch (command.type) {
    case 'INFO':
    case 'TARE':
      return command.type;
    case 'STREAM':
      return `STREAM,${command.on ? 1 : 0}`;
    case 'RATE':
      return `RATE,${command.rateHz}`;
    case 'LIMIT':
      return `LIMIT,${command.onRaw},${command.offRaw}`;
    case 'FEEDBACK':
      return `FEEDBACK,${command.mask}`;
    case 'ZONE':
      return `ZONE,${command.zone}`;
    case 'CEILING':
      return `CEILING,${command.ceilingRaw}`;
  }
}

/** The framed line with its `\n`; throws a RangeError naming the bad value. */
export function encodeHostCommand(command: HostCommand): string {
  const parsed = hostCommandSchema.safeParse(command);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'command'}: ${issue.message}`).join('; ');
    throw new RangeError(`cannot send ${JSON.stringify(command)}: ${detail}`);
  }
  return `${frame(hostCommandBody(parsed.data))}\n`;
}

/**
 * Why a device refuses a host line: the reasons of `NAK` (protocol v1), and since firmware
 * 1.2.0 `ceiling` (a `LIMIT` above the alarm ceiling, or `0,0`) and `locked` (`CEILING`
 * without the thumb button held at boot).
 */
export type NakReason = 'range' | 'syntax' | 'checksum' | 'unknown' | 'ceiling' | 'locked';
export const NAK_REASONS: readonly NakReason[] = ['range', 'syntax', 'checksum', 'unknown', 'ceiling', 'locked'];

export type HostLineResult =
  | { readonly ok: true; readonly command: HostCommand }
  /** `command` is null where the line could not be read (the device answers `NAK,?,reason`). */
  | { readonly ok: false; readonly command: HostCommandName | null; readonly reason: NakReason };

const FIELD_COUNTS: Record<HostCommandName, number> = { INFO: 1, STREAM: 2, RATE: 2, LIMIT: 3, FEEDBACK: 2, ZONE: 2, TARE: 1, CEILING: 2 };
const DECIMAL = /^-?[0-9]{1,10}$/;

function isCommandName(name: string): name is HostCommandName {
  return (HOST_COMMAND_NAMES as readonly string[]).includes(name);
}

/**
 * Reads a host line the way the firmware does (the line's `\n` removed): the reply a
 * device owes it follows from the result (`ACK`, or `NAK,<CMD|?>,<reason>`).
 */
export function decodeHostLine(line: string): HostLineResult {
  const framed = unframe(line);
  if (!framed.ok) return { ok: false, command: null, reason: framed.reason === 'checksum' ? 'checksum' : 'syntax' };
  const fields = framed.body.split(',');
  const name = fields[0] ?? '';
  if (!isCommandName(name)) return { ok: false, command: null, reason: /^[A-Z]+$/.test(name) ? 'unknown' : 'syntax' };
  const values = fields.slice(1);
  if (fields.length !== FIELD_COUNTS[name] || !values.every((value) => DECIMAL.test(value))) return { ok: false, command: name, reason: 'syntax' };
  const numbers = values.map(Number);
  const candidate: Record<string, unknown> = { type: name };
  if (name === 'STREAM') candidate.on = numbers[0] === 1 ? true : numbers[0] === 0 ? false : -1;
  if (name === 'RATE') candidate.rateHz = numbers[0];
  if (name === 'LIMIT') Object.assign(candidate, { onRaw: numbers[0], offRaw: numbers[1] });
  if (name === 'FEEDBACK') candidate.mask = numbers[0];
  if (name === 'ZONE') candidate.zone = numbers[0];
  if (name === 'CEILING') candidate.ceilingRaw = numbers[0];
  const parsed = hostCommandSchema.safeParse(candidate);
  return parsed.success ? { ok: true, command: parsed.data } : { ok: false, command: name, reason: 'range' };
}
