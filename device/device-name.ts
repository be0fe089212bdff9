/**
 * A device's display name: what people call a massager ("Couch 2", "Anna's"), set by
 * `?name=` in its device spec or on the dashboard, shown wherever the device is named.
 * Plain text a person typed: trimmed, 1 to 40 characters, no control characters, no
 * bidirectional overrides (they reorder the text around them), no broken UTF-16. Declared
 * here, the lowest layer that reads one (the device spec); the wire contract re-exports it.
 *
 *   const problem = deviceNameProblem(text);  // null, or why it is refused
 */
import { z } from 'zod';

/** UTF-16 code units, as an input's maxlength counts them. */
export const DEVICE_NAME_MAX_CHARS = 40;

// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
/** Embeddings, overrides and isolates: invisible, and they reorder the text around the name. */
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/;
/** Half of a UTF-16 surrogate pair without its other half. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Why `name` (already trimmed) cannot be a device name, or null when it can. */
export function deviceNameProblem(name: string): string | null {
  if (name.length === 0) return 'must not be empty';
  if (name.length > DEVICE_NAME_MAX_CHARS) return `must be at most ${DEVICE_NAME_MAX_CHARS} characters`;
  if (CONTROL_CHARACTERS.test(name)) return 'must not contain control characters (line breaks, tabs, U+0000 to U+001F, U+007F to U+009F)';
  if (BIDI_CONTROLS.test(name)) return 'must not contain bidirectional text controls (U+202A to U+202E, U+2066 to U+2069)';
  if (LONE_SURROGATE.test(name)) return 'must not contain an unpaired surrogate (half of a UTF-16 character)';
  return null;
}

/** A device name as sent or stored: trimmed, then checked by `deviceNameProblem`. */
export const deviceNameSchema = z
  .string({ error: 'must be text' })
  .trim()
  .superRefine((name, context) => {
    const problem = deviceNameProblem(name);
    if (problem !== null) context.addIssue({ code: 'custom', message: problem });
  });

/**
 * The name a device has before anyone names it: its kind and the end of its id
 * ("Simulator 3f2a", "Massager 1a2b"), short enough for a panel's title and unique enough
 * to tell two apart.
 */
export function defaultDeviceName(transportKind: string, deviceId: string): string {
  const kind = DEFAULT_NAME_BY_KIND[transportKind] ?? 'Massager';
  return `${kind} ${deviceId.slice(-4)}`;
}

const DEFAULT_NAME_BY_KIND: Readonly<Record<string, string>> = { sim: 'Simulator', emulator: 'Emulator', replay: 'Replay' };
