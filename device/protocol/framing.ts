/**
 * Line framing of protocol v1 (device/PROTOCOL.md), both directions: every line is
 * `$BODY*HH`, printable ASCII, where HH is the XOR of the body's bytes as two uppercase
 * hex digits. The codecs for device messages and host commands sit on top of this; the
 * line guard in front of it has already bounded the line's length.
 *
 *   frame('S,1,1000,512')            // '$S,1,1000,512*79'
 *   unframe('$S,1,1000,512*79\r')    // { ok: true, body: 'S,1,1000,512' }
 */
import type { DropReason } from './drop-reasons.ts';

/** Longest line in bytes, its terminator included (protocol v1). */
export const MAX_LINE_BYTES = 80;

const HEX_DIGITS = '0123456789ABCDEF';
const DOLLAR = 0x24;
const STAR = 0x2a;
const CARRIAGE_RETURN = 0x0d;

/** The XOR of every character code of the body (the body is ASCII). */
export function checksumOf(body: string): number {
  let sum = 0;
  for (let index = 0; index < body.length; index++) sum ^= body.charCodeAt(index);
  return sum & 0xff;
}

/** `$BODY*HH`, without a terminator. */
export function frame(body: string): string {
  const sum = checksumOf(body);
  return `$${body}*${HEX_DIGITS[sum >> 4] ?? '0'}${HEX_DIGITS[sum & 0x0f] ?? '0'}`;
}

export type UnframeResult = { readonly ok: true; readonly body: string } | { readonly ok: false; readonly reason: DropReason };

/** Uppercase hex digit value, or -1 (lowercase is refused: the protocol says uppercase). */
function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10;
  return -1;
}

/**
 * Checks a line (its `\n` already removed; one `\r` before it is allowed) and returns its
 * body. One pass over the characters: printable check and checksum together, because
 * this runs for every sample.
 */
export function unframe(line: string): UnframeResult {
  const end = line.length > 0 && line.charCodeAt(line.length - 1) === CARRIAGE_RETURN ? line.length - 1 : line.length;
  if (end === 0) return { ok: false, reason: 'framing' };
  const starAt = end - 3;
  let sum = 0;
  let misplacedMarker = false;
  for (let index = 0; index < end; index++) {
    const code = line.charCodeAt(index);
    if (code < 0x20 || code > 0x7e) return { ok: false, reason: 'not-printable' };
    if (index === 0) continue;
    if (index < starAt) {
      if (code === DOLLAR || code === STAR) misplacedMarker = true;
      sum ^= code;
    }
  }
  if (line.charCodeAt(0) !== DOLLAR || misplacedMarker) return { ok: false, reason: 'framing' };
  if (starAt < 1 || line.charCodeAt(starAt) !== STAR) return { ok: false, reason: 'checksum' };
  const high = hexValue(line.charCodeAt(starAt + 1));
  const low = hexValue(line.charCodeAt(starAt + 2));
  if (high < 0 || low < 0 || ((high << 4) | low) !== sum) return { ok: false, reason: 'checksum' };
  return { ok: true, body: line.slice(1, starAt) };
}
