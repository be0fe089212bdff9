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

/** A bucket's lowest and highest force, folded from chunk summaries. */
export interface BucketSummary {
  readonly bucket: number;
  readonly minN: number;
  readonly maxN: number;
}

/** The queries a store answers for an envelope (a range is `first_ms <= toMs AND last_ms >= fromMs`). */
export interface ChunkQueries {
  /**
   * The range's end (`until`, or else the session's end: its duration, at least `fromMs + 1`)
   * and how many samples the chunks overlapping the range hold, counted only as far as
   * needed: any count above `enough` means "more than enough" (a store may stop there).
   * Null if there is no such session.
   */
  rangeOf(id: number, fromMs: number, until: number | null, enough: number): Promise<{ toMs: number; samples: number } | null>;
  /** The indexes of the chunks overlapping the range, in time order. */
  chunkIndexesInRange(id: number, fromMs: number, toMs: number): Promise<number[]>;
  /**
   * Per bucket, the lowest and highest force of the chunks inside the range no longer than
   * `maxSpanMs`; and the chunks to read sample by sample besides: those across either end
   * of the range (`rest` 'edges'), or every chunk overlapping the range not folded into a
   * bucket, in time order (`rest` 'unfolded'). One call, so a store can answer in one query.
   */
  foldChunks(args: BucketArgs, rest: 'edges' | 'unfolded'): Promise<{ buckets: BucketSummary[]; others: number[] }>;
  readChunks(id: number, indexes: readonly number[]): Promise<SampleChunk[]>;
}

export async function queryEnvelope(queries: ChunkQueries, id: number, fromMs: number, until: number | null, maxPoints: number): Promise<SampleEnvelope | null> {
  const fewSamples = maxPoints + 2 * CHUNK_MAX_SAMPLES;
  const range = await queries.rangeOf(id, fromMs, until, fewSamples);
  if (range === null) return null;
  const { toMs } = range;
  // At most range.samples samples lie in the range (the chunks at its edges stick out of it).
  if (range.samples <= fewSamples) {
    // Few enough to read them all: exact if they fit, else bucketed sample by sample.
    const chunks = await queries.readChunks(id, await queries.chunkIndexesInRange(id, fromMs, toMs));
    const inRange = chunks.reduce((sum, chunk) => sum + chunk.tMs.filter((tMs) => tMs >= fromMs && tMs <= toMs).length, 0);
    const collector = inRange <= maxPoints ? new ExactCollector(fromMs, toMs) : new EnvelopeBuilder(fromMs, toMs, maxPoints);
    for (const chunk of chunks) collector.addSamples(chunk.tMs, chunk.forceN);
    return collector instanceof ExactCollector ? collector.envelope : collector.result();
  }
  const builder = new EnvelopeBuilder(fromMs, toMs, maxPoints);
  const args: BucketArgs = { id, fromMs, toMs, bucketMs: builder.bucketMs, lastBucket: builder.buckets - 1, maxSpanMs: builder.summaryMaxSpanMs };
  // No chunk is longer than CHUNK_MAX_SPAN_MS (commit refuses them): with buckets that wide, only the edges are left.
  const { buckets, others } = await queries.foldChunks(args, builder.summaryMaxSpanMs >= CHUNK_MAX_SPAN_MS ? 'edges' : 'unfolded');
  for (const row of buckets) builder.addBucket(row.bucket, row.minN, row.maxN);
  for (const chunk of await queries.readChunks(id, others)) builder.addSamples(chunk.tMs, chunk.forceN);
  return builder.result();
}
