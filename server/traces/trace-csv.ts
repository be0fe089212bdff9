/**
 * Reads a force trace file: CSV with the header `t_ms,force_n`, then one sample a line
 * (device time in ms, force in N), as `test/fixtures/traces/` has them. A third column
 * `mark` (header `t_ms,force_n,mark`) may say where the person signalled pain (1, else 0
 * or empty), for `npm run analyze -- --ppt`; each batch then carries `marked`. Streamed in batches, so
 * a trace of hours at 1 kHz never sits in memory whole; lines are bounded, so a file that
 * is not a trace (a binary, one endless line) fails fast instead of filling memory.
 *
 *   for await (const batch of readTraceCsv('trace.csv')) engine.pushBatch(batch);
 *
 * Pipeline position: the input of `npm run analyze` and of a `replay:FILE.csv` device, in
 * front of the pressure engine (which does no I/O: reading files lives here, beside it).
 * The columns are the contract's (`contract/csv.ts`).
 *
 * Every problem is a `TraceFileError` naming the file, the line (1 = the header) and what
 * is wrong: no header, a wrong column count, a value that is not a number, time going
 * backwards, no samples. Blank lines are skipped; `\r\n` line ends and a UTF-8 byte order
 * mark are accepted; equal times are accepted (only going backwards is refused).
 */
import { createReadStream } from 'node:fs';
import { MARKED_TRACE_CSV_HEADER, TRACE_CSV_COLUMNS, TRACE_CSV_HEADER as TRACE_HEADER, TRACE_MARK_COLUMN } from '../contract/csv.ts';
import type { SampleBatch } from '../engine/engine.ts';

/** A batch of a trace; `marked` (one flag a sample) only when the file has the `mark` column. */
export interface TraceBatch extends SampleBatch {
  readonly marked?: readonly boolean[];
}

interface MutableBatch {
  tMs: number[];
  forceN: number[];
  marked?: boolean[];
}

/** Longer lines cannot be a sample (two numbers); the file is not a trace. */
export const MAX_TRACE_LINE_CHARS = 200;
const BATCH_SAMPLES = 4096;
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

export class TraceFileError extends Error {
  override readonly name = 'TraceFileError';
}

/** A short quote of a line for messages. */
function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
}

class TraceLineParser {
  readonly #path: string;
  #lineNumber = 0;
  #headerSeen = false;
  /** The header has the `mark` column. */
  hasMarks = false;
  #previousTMs = Number.NEGATIVE_INFINITY;
  #previousLine = 0;
  samples = 0;

  constructor(path: string) {
    this.#path = path;
  }

  fail(what: string): never {
    throw new TraceFileError(`${this.#path}: line ${this.#lineNumber}: ${what}`);
  }

  /** For a problem found before the line is complete (it is too long). */
  failNextLine(what: string): never {
    this.#lineNumber++;
    this.fail(what);
  }

  /** Parses one line (without its `\n`) into `batch`. */
  line(rawLine: string, batch: MutableBatch): void {
    this.#lineNumber++;
    let line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (this.#lineNumber === 1 && line.startsWith('\uFEFF')) line = line.slice(1);
    line = line.trim();
    if (!this.#headerSeen) {
      this.#header(line);
      return;
    }
    if (line === '') return;
    const columns = line.split(',');
    if (this.hasMarks ? columns.length !== 2 && columns.length !== 3 : columns.length !== 2) {
      this.fail(this.hasMarks ? `expected 3 columns (${MARKED_TRACE_CSV_HEADER}; the mark may be left out), got ${columns.length}: ${quote(line)}` : `expected 2 columns (${TRACE_HEADER}), got ${columns.length}: ${quote(line)}`);
    }
    const tMs = this.#number(columns[0] ?? '', TRACE_CSV_COLUMNS[0]);
    const forceN = this.#number(columns[1] ?? '', TRACE_CSV_COLUMNS[1]);
    if (tMs < this.#previousTMs) {
      this.fail(`time goes backwards: t_ms ${tMs} comes after ${this.#previousTMs} (line ${this.#previousLine}); samples must be in time order`);
    }
    this.#previousTMs = tMs;
    this.#previousLine = this.#lineNumber;
    batch.tMs.push(tMs);
    batch.forceN.push(forceN);
    if (this.hasMarks) (batch.marked ??= []).push(this.#mark(columns[2] ?? ''));
    this.samples++;
  }

  /** Called at the end of the file. */
  end(): void {
    if (!this.#headerSeen) throw new TraceFileError(`${this.#path}: the file is empty: a trace starts with the header ${TRACE_HEADER}, then one sample a line`);
    if (this.samples === 0) throw new TraceFileError(`${this.#path}: no samples after the header ${TRACE_HEADER}: nothing to analyze`);
  }

  #header(line: string): void {
    if (line === '') this.fail(`expected the header ${TRACE_HEADER}, got an empty line`);
    const names = line.split(',').map((name) => name.trim());
    const traceColumns = names.length >= TRACE_CSV_COLUMNS.length && TRACE_CSV_COLUMNS.every((column, index) => names[index] === column);
    if (traceColumns && (names.length === TRACE_CSV_COLUMNS.length || (names.length === 3 && names[2] === TRACE_MARK_COLUMN))) {
      this.#headerSeen = true;
      this.hasMarks = names.length === 3;
      return;
    }
    const looksLikeSample = names.length >= 1 && names.every((name) => NUMBER.test(name));
    this.fail(
      looksLikeSample
        ? `no header: the first line must be ${TRACE_HEADER} (then one sample a line), got ${quote(line)}`
        : `the header must be ${TRACE_HEADER}, got ${quote(line)} (${MARKED_TRACE_CSV_HEADER} for a trace with PPT marks)`,
    );
  }

  /** A mark cell: 1 marks the sample; 0 or empty does not. */
  #mark(text: string): boolean {
    const trimmed = text.trim();
    if (trimmed === '1') return true;
    if (trimmed === '0' || trimmed === '') return false;
    return this.fail(`${TRACE_MARK_COLUMN} must be 1 (the person signalled pain on this sample), 0 or empty, got ${quote(trimmed)}`);
  }

  #number(text: string, column: (typeof TRACE_CSV_COLUMNS)[number]): number {
    const trimmed = text.trim();
    const value = NUMBER.test(trimmed) ? Number(trimmed) : Number.NaN;
    if (!Number.isFinite(value)) {
      this.fail(`${column} ${trimmed === '' ? 'is empty' : `is not a number: ${quote(trimmed)}`} (a line is ${TRACE_HEADER}, e.g. 1530,16.2)`);
    }
    return value;
  }
}

/** Why a file could not be read, in words. */
function describeReadError(path: string, error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return `${path}: no such file`;
  if (code === 'EISDIR') return `${path}: is a directory, not a trace file`;
  if (code === 'EACCES') return `${path}: permission denied`;
  return `${path}: cannot read: ${error instanceof Error ? error.message : String(error)}`;
}

/**
 * The samples of a trace file, in batches of up to a few thousand, in file order.
 * `name` is how messages call the file (default: `path`).
 * @throws TraceFileError when the file cannot be read or is not a valid trace.
 */
export async function* readTraceCsv(path: string, name = path): AsyncGenerator<TraceBatch, void, undefined> {
  const parser = new TraceLineParser(name);
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 64 * 1024 });
  let rest = '';
  let batch: MutableBatch = { tMs: [], forceN: [] };
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      let start = 0;
      for (let newline = chunk.indexOf('\n'); newline !== -1; newline = chunk.indexOf('\n', start)) {
        const piece = chunk.slice(start, newline);
        parser.line(rest === '' ? piece : rest + piece, batch);
        rest = '';
        start = newline + 1;
        if (batch.tMs.length >= BATCH_SAMPLES) {
          yield batch;
          batch = { tMs: [], forceN: [] };
        }
      }
      rest += chunk.slice(start);
      if (rest.length > MAX_TRACE_LINE_CHARS) {
        parser.failNextLine(`longer than ${MAX_TRACE_LINE_CHARS} characters: this is not a ${TRACE_HEADER} trace`);
      }
    }
  } catch (error) {
    if (error instanceof TraceFileError) throw error;
    throw new TraceFileError(describeReadError(name, error));
  } finally {
    stream.destroy();
  }
  if (rest !== '') parser.line(rest, batch);
  parser.end();
  if (batch.tMs.length > 0) yield batch;
}
