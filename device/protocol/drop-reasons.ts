/**
 * Why the host dropped a line from the device: the one list of reasons the line guard,
 * the line codec and the serial transport count under (`TransportStatus.droppedLines`),
 * so the dashboard's link health names the same reasons everywhere. A dropped line is
 * never half-used: nothing in it reaches the pipeline.
 */

export const DROP_REASONS = {
  /** Longer than 80 bytes including the terminator (protocol v1): discarded up to its `\n`. */
  'too-long': 'line longer than 80 bytes including its terminator',
  /** The link closed in the middle of a line. */
  unterminated: 'line cut off by the link closing before its terminator',
  /** A byte outside printable ASCII 0x20..0x7E (NUL, a high byte, a stray `\r`). */
  'not-printable': 'byte outside printable ASCII',
  /** Not `$BODY*HH` (no `$`, an empty line, a `$` or `*` inside the body). */
  framing: 'not framed as $BODY*HH',
  /** The `*HH` is missing, not two uppercase hex digits, or not the XOR of the body. */
  checksum: 'checksum missing or wrong',
  /** A field that is not a decimal integer or word of the expected form, or a wrong field count. */
  syntax: 'malformed field or wrong field count',
  /** A well-formed value outside what the protocol allows (seq > 65535, raw past the sensor's range, ...). */
  range: 'value out of range',
  /** A message type protocol v1 does not have. */
  unknown: 'unknown message type',
  /** A HELLO announcing a protocol version other than 1. */
  version: 'unsupported protocol version',
  /** Samples received while waiting for the device to say who it is, past what the host keeps. */
  'no-hello': 'sample arrived before the device answered INFO with HELLO, and the wait buffer was full',
} as const;

export type DropReason = keyof typeof DROP_REASONS;
