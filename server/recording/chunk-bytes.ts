/**
 * Sample chunks as stored: each array's bytes as they are in memory (float64 time and
 * force, int32 raw counts, the machine's byte order), one BLOB (SQLite) or bytea
 * (PostgreSQL) per array. Both stores write and read them with these.
 *
 * Pipeline position: session storage (SQLite, PostgreSQL) <-> **chunk bytes**.
 */
import type { SampleChunk } from './store.ts';

/** Bytes as typed numbers, copying only when the driver's buffer is not aligned for them. */
export function float64s(bytes: Buffer): Float64Array {
  if (bytes.byteOffset % Float64Array.BYTES_PER_ELEMENT === 0) return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / Float64Array.BYTES_PER_ELEMENT);
  return new Float64Array(new Uint8Array(bytes).buffer);
}

export function int32s(bytes: Buffer): Int32Array {
  if (bytes.byteOffset % Int32Array.BYTES_PER_ELEMENT === 0) return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / Int32Array.BYTES_PER_ELEMENT);
  return new Int32Array(new Uint8Array(bytes).buffer);
}

export function bytesOf(array: Float64Array | Int32Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

export function chunkOf(row: { readonly t_ms: Buffer; readonly force_n: Buffer; readonly raw: Buffer }): SampleChunk {
  return { tMs: float64s(row.t_ms), forceN: float64s(row.force_n), raw: int32s(row.raw) };
}

/** A chunk's summary columns; @throws RangeError for a chunk longer than the stores take. */
export function chunkSummary(chunk: SampleChunk, maxSamples: number, maxSpanMs: number): { firstMs: number; lastMs: number; count: number; minN: number; maxN: number } {
  const count = chunk.tMs.length;
  const firstMs = chunk.tMs[0] as number;
  const lastMs = chunk.tMs[count - 1] as number;
  const spanMs = lastMs - firstMs;
  if (count > maxSamples || spanMs > maxSpanMs) {
    throw new RangeError(`a sample chunk holds at most ${maxSamples} samples over at most ${maxSpanMs} ms (got ${count} over ${spanMs} ms): cut it with toChunks`);
  }
  let minN = Number.POSITIVE_INFINITY;
  let maxN = Number.NEGATIVE_INFINITY;
  for (const forceN of chunk.forceN) {
    if (forceN < minN) minN = forceN;
    if (forceN > maxN) maxN = forceN;
  }
  return { firstMs, lastMs, count, minN, maxN };
}
