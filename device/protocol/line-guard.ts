/**
 * The bounded line guard: the first stage after the serial port, in front of
 * `@serialport/parser-readline`. It passes on only whole lines of at most `maxLineBytes`
 * bytes (terminator included); a longer line is discarded up to its `\n` and reported
 * once, as soon as it is known to be too long; a bare `\n` is reported as empty. It keeps at most one line's bytes, so its
 * memory stays flat whatever arrives, and it touches each byte once (linear time).
 *
 * Readline alone re-concatenates its whole buffer on every chunk and never gives up on a
 * line without a `\n` (quadratic time, unbounded memory). Behind this guard its buffer is
 * empty after every chunk, because it only ever receives whole lines.
 *
 *   const guard = new LineGuard({ onDrop: (reason) => dropped[reason]++ });
 *   const lines = port.pipe(guard).pipe(new ReadlineParser({ delimiter: '\n', encoding: 'latin1' }));
 *   lines.on('data', (line: string) => ...);
 */
import { Transform, type TransformCallback } from 'node:stream';
import { MAX_LINE_BYTES } from './framing.ts';

const NEWLINE = 0x0a;

/** `empty`: a bare `\n`, which readline could not pass on (it emits nothing for it). */
export type LineGuardDropReason = 'too-long' | 'unterminated' | 'empty';

export interface LineGuardOptions {
  /** Longest line passed on, in bytes including its `\n` (default 80, protocol v1). */
  readonly maxLineBytes?: number;
  /** Called once per discarded line. */
  readonly onDrop?: (reason: LineGuardDropReason) => void;
}

export class LineGuard extends Transform {
  readonly #maxLineBytes: number;
  readonly #onDrop: (reason: LineGuardDropReason) => void;
  /** The start of a line whose `\n` has not arrived yet (at most maxLineBytes - 1 bytes). */
  readonly #partial: Buffer;
  #partialLength = 0;
  /** Inside a line already known to be too long: skip to its `\n`. */
  #discarding = false;
  /** Lines discarded so far, by reason. */
  readonly dropped: Record<LineGuardDropReason, number> = { 'too-long': 0, unterminated: 0, empty: 0 };

  constructor(options: LineGuardOptions = {}) {
    super();
    const maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 2) {
      throw new TypeError(`LineGuard: maxLineBytes must be an integer of at least 2 (a byte and the \\n), got ${maxLineBytes}`);
    }
    this.#maxLineBytes = maxLineBytes;
    this.#onDrop = options.onDrop ?? (() => undefined);
    this.#partial = Buffer.alloc(maxLineBytes - 1);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const lines: Buffer[] = [];
    // Consecutive good lines go out as one slice of the chunk: no copy in the common case.
    let runStart = -1;
    let runEnd = -1;
    const closeRun = (): void => {
      if (runStart >= 0) lines.push(chunk.subarray(runStart, runEnd));
      runStart = -1;
    };
    let start = 0;
    while (start < chunk.length) {
      const newlineAt = chunk.indexOf(NEWLINE, start);
      if (newlineAt === -1) {
        this.#keepPartial(chunk, start);
        break;
      }
      const segmentBytes = newlineAt + 1 - start;
      if (this.#discarding) {
        this.#discarding = false;
      } else if (this.#partialLength + segmentBytes > this.#maxLineBytes) {
        closeRun();
        this.#drop('too-long');
        this.#partialLength = 0;
      } else if (this.#partialLength + segmentBytes === 1) {
        closeRun();
        this.#drop('empty');
      } else if (this.#partialLength > 0) {
        lines.push(Buffer.concat([this.#partial.subarray(0, this.#partialLength), chunk.subarray(start, newlineAt + 1)]));
        this.#partialLength = 0;
      } else {
        if (runStart < 0) runStart = start;
        runEnd = newlineAt + 1;
      }
      start = newlineAt + 1;
    }
    closeRun();
    if (lines.length === 1) this.push(lines[0]);
    else if (lines.length > 1) this.push(Buffer.concat(lines));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.#partialLength > 0) this.#drop('unterminated');
    this.#partialLength = 0;
    this.#discarding = false;
    callback();
  }

  /** Keeps the unterminated tail of a chunk, or starts discarding once it cannot fit. */
  #keepPartial(chunk: Buffer, start: number): void {
    if (this.#discarding) return;
    const tailBytes = chunk.length - start;
    // With its `\n` still to come, a line of maxLineBytes bytes already is too long.
    if (this.#partialLength + tailBytes >= this.#maxLineBytes) {
      this.#discarding = true;
      this.#partialLength = 0;
      this.#drop('too-long');
      return;
    }
    chunk.copy(this.#partial, this.#partialLength, start);
    this.#partialLength += tailBytes;
  }

  #drop(reason: LineGuardDropReason): void {
    this.dropped[reason]++;
    this.#onDrop(reason);
  }
}
