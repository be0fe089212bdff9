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
    // What goes out of this chunk, as views: consecutive good lines are one view of the
    // chunk, a line completed from the kept partial is that partial's view and the chunk's.
    // Out goes the single view as it is (no copy, the common case) or one concatenation.
    const pieces: Buffer[] = [];
    let piecesBytes = 0;
    let runStart = -1;
    let runEnd = -1;
    let start = 0;
    for (let index = chunk.indexOf(NEWLINE); index !== -1; index = chunk.indexOf(NEWLINE, index + 1)) {
      const end = index + 1;
      const lineBytes = this.#partialLength + end - start;
      if (this.#discarding) {
        this.#discarding = false;
      } else if (lineBytes > this.#maxLineBytes || lineBytes === 1) {
        if (runStart >= 0) {
          pieces.push(chunk.subarray(runStart, runEnd));
          piecesBytes += runEnd - runStart;
          runStart = -1;
        }
        this.#drop(lineBytes === 1 ? 'empty' : 'too-long');
        this.#partialLength = 0;
      } else if (this.#partialLength > 0) {
        // Only the chunk's first line can complete a partial: the run is still empty.
        pieces.push(this.#partial.subarray(0, this.#partialLength));
        piecesBytes += this.#partialLength;
        this.#partialLength = 0;
        runStart = start;
        runEnd = end;
      } else {
        if (runStart < 0) runStart = start;
        runEnd = end;
      }
      start = end;
    }
    if (runStart >= 0) {
      pieces.push(chunk.subarray(runStart, runEnd));
      piecesBytes += runEnd - runStart;
    }
    // A kept partial's view never goes out alone (its line's end in this chunk follows it), so a single piece is the chunk's.
    if (pieces.length === 1) this.push(pieces[0]);
    else if (pieces.length > 1) this.push(Buffer.concat(pieces, piecesBytes));
    // Only now: the partial's buffer may still have been one of the pieces.
    if (start < chunk.length) this.#keepPartial(chunk, start);
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
