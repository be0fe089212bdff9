/**
 * How a store answers `sampleEnvelope` from its chunk rows, once for every store: few
 * samples in the range are read whole (exact if they fit); otherwise chunks short enough
 * fold in the database from their summary columns, and only the few others (the range's
 * edges, long chunks) are read sample by sample. A store gives the queries
 * (`ChunkQueries`), in SQL of its own.
 *
 * Pipeline position: session storage -> **envelope query** (`envelope.ts` below) -> REST API.
 */
import type { SampleEnvelope } from '../contract/records.ts';
import { EnvelopeBuilder, ExactCollector } from './envelope.ts';
import { CHUNK_MAX_SAMPLES, CHUNK_MAX_SPAN_MS, type SampleChunk } from './store.ts';

/** Where chunks fold into buckets: `bucket = min(floor(((first + last) / 2 - fromMs) / bucketMs), lastBucket)`. */
export interface BucketArgs {
  readonly id: number;
  readonly fromMs: number;
  readonly toMs: number;
  readonly bucketMs: number;
  readonly lastBucket: number;
  readonly maxSpanMs: number;
}

/** The queries a store answers for an envelope (a range is `first_ms <= toMs AND last_ms >= fromMs`). */
export interface ChunkQueries {
  /** The session's duration, null if there is no such session. */
  durationMs(id: number): Promise<number | null>;
  /** How many samples the chunks overlapping the range hold. */
  samplesInRange(id: number, fromMs: number, toMs: number): Promise<number>;
  /** The indexes of the chunks overlapping the range, in time order. */
  chunkIndexesInRange(id: number, fromMs: number, toMs: number): Promise<number[]>;
  /** Per bucket, the lowest and highest force of the chunks inside the range no longer than `maxSpanMs`. */
  bucketSummaries(args: BucketArgs): Promise<{ bucket: number; minN: number; maxN: number }[]>;
  /** The chunks across either end of the range. */
  edgeChunks(args: BucketArgs): Promise<number[]>;
  /** The chunks overlapping the range that `bucketSummaries` does not fold, in time order. */
  unfoldedChunks(args: BucketArgs): Promise<number[]>;
  readChunks(id: number, indexes: readonly number[]): Promise<SampleChunk[]>;
}

export async function queryEnvelope(queries: ChunkQueries, id: number, fromMs: number, until: number | null, maxPoints: number): Promise<SampleEnvelope | null> {
  const durationMs = await queries.durationMs(id);
  if (durationMs === null) return null;
  const toMs = until ?? Math.max(durationMs, fromMs + 1);
  // At most this many samples lie in the range (the chunks at its edges stick out of it).
  const samples = await queries.samplesInRange(id, fromMs, toMs);
  if (samples <= maxPoints + 2 * CHUNK_MAX_SAMPLES) {
    // Few enough to read them all: exact if they fit, else bucketed sample by sample.
    const chunks = await queries.readChunks(id, await queries.chunkIndexesInRange(id, fromMs, toMs));
    const inRange = chunks.reduce((sum, chunk) => sum + chunk.tMs.filter((tMs) => tMs >= fromMs && tMs <= toMs).length, 0);
    const collector = inRange <= maxPoints ? new ExactCollector(fromMs, toMs) : new EnvelopeBuilder(fromMs, toMs, maxPoints);
    for (const chunk of chunks) collector.addSamples(chunk.tMs, chunk.forceN);
    return collector instanceof ExactCollector ? collector.envelope : collector.result();
  }
  const builder = new EnvelopeBuilder(fromMs, toMs, maxPoints);
  const args: BucketArgs = { id, fromMs, toMs, bucketMs: builder.bucketMs, lastBucket: builder.buckets - 1, maxSpanMs: builder.summaryMaxSpanMs };
  for (const row of await queries.bucketSummaries(args)) builder.addBucket(row.bucket, row.minN, row.maxN);
  // No chunk is longer than CHUNK_MAX_SPAN_MS (commit refuses them): with buckets that wide, only the edges are left.
  const others = builder.summaryMaxSpanMs >= CHUNK_MAX_SPAN_MS ? await queries.edgeChunks(args) : await queries.unfoldedChunks(args);
  for (const chunk of await queries.readChunks(id, others)) builder.addSamples(chunk.tMs, chunk.forceN);
  return builder.result();
}
