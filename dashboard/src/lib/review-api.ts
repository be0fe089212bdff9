/**
 * The dashboard's client of the review API (`/api/...` on the same server): every answer
 * is validated with the schema the server builds it from, and a refusal becomes an Error
 * carrying the server's own message (which names what was wrong).
 */
import type { z } from 'zod';
import type { ForceUnit } from '../../../calibration/units.ts';
import { auditPageSchema, type AuditPage } from '../../../server/contract/audit.ts';
import { DEFAULT_POINTS, MAX_POINTS } from '../../../server/contract/requests.ts';
import {
  recordedHoldSchema,
  sampleEnvelopeSchema,
  sessionDetailSchema,
  sessionPageSchema,
  trendsSchema,
  type HoldLabel,
  type RecordedHold,
  type SampleEnvelope,
  type SessionDetail,
  type SessionPage,
  type Trends,
} from '../../../server/contract/records.ts';

export { DEFAULT_POINTS, MAX_POINTS };

/** Query parameters as the API takes them; empty values are left out. */
export type Query = Record<string, string | number | undefined>;

export function queryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(name, String(value));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

export async function request<T>(schema: z.ZodType<T>, path: string, init?: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`/api${path}`, init);
  } catch {
    throw new Error('the server cannot be reached: is it running?');
  }
  const text = await response.text();
  const body: unknown = text === '' ? null : JSON.parse(text);
  if (!response.ok) {
    const message = (body as { error?: unknown } | null)?.error;
    throw new Error(typeof message === 'string' ? message : `the server answered ${response.status}`);
  }
  return schema.parse(body);
}

export const json = (method: string, body: unknown): RequestInit => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

export function listSessions(query: Query): Promise<SessionPage> {
  return request(sessionPageSchema, `/sessions${queryString(query)}`);
}

/** A page of the audit log of safety-relevant changes, newest first. */
export function listAudit(limit: number, offset: number): Promise<AuditPage> {
  return request(auditPageSchema, `/audit${queryString({ limit, offset })}`);
}

export function getSession(id: number): Promise<SessionDetail> {
  return request(sessionDetailSchema, `/sessions/${id}`);
}

export function getSamples(id: number, fromMs: number, toMs: number, maxPoints: number): Promise<SampleEnvelope> {
  const points = Math.min(Math.max(Math.round(maxPoints), 2), MAX_POINTS);
  return request(sampleEnvelopeSchema, `/sessions/${id}/samples${queryString({ fromMs: Math.max(fromMs, 0), toMs, maxPoints: points })}`);
}

export function labelHold(id: number, holdNumber: number, label: Partial<HoldLabel>): Promise<RecordedHold> {
  return request(recordedHoldSchema, `/sessions/${id}/holds/${holdNumber}`, json('PATCH', label));
}

export function setNotes(id: number, notes: string): Promise<SessionDetail> {
  return request(sessionDetailSchema, `/sessions/${id}`, json('PATCH', { notes }));
}

export async function deleteSession(id: number): Promise<void> {
  const response = await fetch(`/api/sessions/${id}`, { method: 'DELETE' });
  if (response.status === 204) return;
  const body = (await response.json()) as { error?: unknown };
  throw new Error(typeof body.error === 'string' ? body.error : `the server answered ${response.status}`);
}

/** The query with this browser's time zone as `tz`: trends' weeks start on Monday there, as the page's dates do. */
export function inLocalWeeks(query: Query): Query {
  return { ...query, tz: Intl.DateTimeFormat().resolvedOptions().timeZone };
}

export function getTrends(query: Query): Promise<Trends> {
  return request(trendsSchema, `/trends${queryString(inLocalWeeks(query))}`);
}

/** Links to the session's export files. */
/** Where to download a session's table; holds and warnings come in `unit` (a trace and JSON stay in newtons). */
export function exportUrl(id: number, what: 'holds' | 'warnings' | 'samples' | 'json', unit: ForceUnit = 'N'): string {
  if (what === 'json') return `/api/sessions/${id}/export.json`;
  const inUnit = what === 'samples' ? '' : `&unit=${encodeURIComponent(unit)}`;
  return `/api/sessions/${id}/export.csv?table=${what}${inUnit}`;
}
