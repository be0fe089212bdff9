/**
 * The review API: recorded sessions over HTTP, as JSON (and CSV exports), on the same
 * fastify server as the dashboard. Every input is validated (`contract/requests.ts`); a bad one is
 * a 400 whose `{"error": ...}` names the parameter and what was wrong, an unknown session
 * or hold a 404, a database that cannot be read (or, for a write, written) a 503 saying
 * why. Writes are rate-limited per client (429 naming the limit); the server's Host and
 * Origin checks (`security/http-guard.ts`) come first.
 *
 *   GET    /api/sessions                      list (filters, paging)
 *   GET    /api/sessions/:id                  one session with its holds and warnings
 *   GET    /api/sessions/:id/samples          min/max envelope of the force
 *   GET    /api/sessions/:id/export.csv       holds, warnings or samples as CSV
 *   GET    /api/sessions/:id/export.json      the session whole, as a file
 *   PATCH  /api/sessions/:id                  notes
 *   PATCH  /api/sessions/:id/holds/:number    body area and knot of a hold (the first is 1)
 *   DELETE /api/sessions/:id                  the session and all it recorded
 *   GET    /api/trends                        holds per body area and knot over weeks
 *   GET    /api/audit                         the audit log of safety-relevant changes, newest first
 *
 * Pipeline position: session store -> **REST API** -> dashboard's review pages, scripts.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import rateLimit from '@fastify/rate-limit';
import type { ConnectionError, FastifyInstance, FastifyPluginAsync, FastifyReply, RouteShorthandOptions } from 'fastify';
import type { z } from 'zod';
import { DEFAULT_CONTACT_AREA_CM2, unitColumnSuffix, type ForceUnit } from '../../calibration/units.ts';
import { roundDecimals } from '../engine/report.ts';
import type { SessionDetail, SessionSummary } from '../contract/records.ts';
import type { SessionStore } from '../recording/store.ts';
import type { AuditTrail } from '../recording/audit-trail.ts';
import { clientName } from '../security/client-name.ts';
import { csvTable, forceCell, holdsCsvColumns, TRACE_CSV_HEADER, warningsCsvColumns } from '../contract/csv.ts';
import {
  DEFAULT_PAGE_SIZE,
  DEFAULT_POINTS,
  describeIssues,
  auditQuerySchema,
  exportQuerySchema,
  holdParamsSchema,
  holdPatchSchema,
  listQuerySchema,
  noQuerySchema,
  samplesQuerySchema,
  sessionParamsSchema,
  sessionPatchSchema,
  trendsQuerySchema,
} from '../contract/requests.ts';

export interface ApiOptions {
  /** The store to read and edit, or null with the reason it cannot be read. */
  readonly store: () => SessionStore | null;
  readonly unavailableReason: () => string;
  /** Why recorded sessions cannot be changed (a read-only database), or null when they can. */
  readonly unwritableReason: () => string | null;
  /** Whether a session is still being recorded (it cannot be deleted then). */
  readonly isRecording: (sessionId: number) => boolean;
  /** Where deletions are written down (the audit log). */
  readonly audit: AuditTrail;
  /** A device's display name by its id and transport kind (absent: sessions go out without `deviceName`). */
  readonly deviceName?: (deviceId: string, transport: string) => string;
}

class HttpError extends Error {
  readonly statusCode: number;

  constructor(statusCode: number, message: string) {
    super(message);
    this.statusCode = statusCode;
  }
}

function parsed<T>(schema: z.ZodType<T>, input: unknown, where: 'path' | 'query' | 'body'): T {
  const result = schema.safeParse(input);
  if (!result.success) throw new HttpError(400, describeIssues(result.error, where, input));
  return result.data;
}

/** Edits and deletions per client: far above a person labelling holds, far below a flood. */
export const REST_WRITE_LIMIT = { max: 30, timeWindowMs: 10_000 } as const;

const writeRateLimit: RouteShorthandOptions = {
  config: {
    rateLimit: {
      max: REST_WRITE_LIMIT.max,
      timeWindow: REST_WRITE_LIMIT.timeWindowMs,
      errorResponseBuilder: (_request, context) =>
        new HttpError(429, `too many changes: rate limit of ${REST_WRITE_LIMIT.max} edits or deletions per ${REST_WRITE_LIMIT.timeWindowMs / 1000} s per client; nothing changed, try again in ${context.after}`),
    },
  },
};

/** SQLite's codes for a database that cannot be written now (read-only, locked, full, failing disk). */
const UNWRITABLE_STORE_CODES = /^SQLITE_(READONLY|BUSY|LOCKED|FULL|IOERR|CANTOPEN)/;

function storeUnavailable(error: unknown): HttpError | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !UNWRITABLE_STORE_CODES.test(code)) return null;
  const reason = code.startsWith('SQLITE_READONLY')
    ? 'the database is read-only (make the --db file and its folder writable, or restart with a writable --db)'
    : code.startsWith('SQLITE_FULL')
      ? 'the disk is full (free some space)'
      : `the database cannot be written now (${code}): try again, and check the disk if it persists`;
  return new HttpError(503, `recorded sessions cannot be changed: ${reason}; nothing changed`);
}

function notFound(id: number): HttpError {
  return new HttpError(404, `there is no session ${id} (GET /api/sessions lists them)`);
}

function attachment(reply: FastifyReply, name: string, type: string): FastifyReply {
  return reply.type(type).header('content-disposition', `attachment; filename="${name}"`);
}

/**
 * Forces in an export, in the unit the user reads them in (the dashboard passes its
 * choice). Recordings keep newtons, not the tip, so pressures are over the default tip.
 */
interface ExportUnit {
  readonly column: string;
  value(forceN: number): number;
}

function exportUnit(unit: ForceUnit): ExportUnit {
  return { column: unitColumnSuffix(unit), value: (forceN) => forceCell(forceN, unit, DEFAULT_CONTACT_AREA_CM2) };
}

function holdsCsv(session: SessionDetail, unit: ExportUnit): string {
  return csvTable(
    holdsCsvColumns(unit.column),
    session.holds.map((hold) => [
      hold.number,
      hold.startMs,
      hold.endMs,
      hold.durationMs,
      hold.targetHoldMs,
      hold.durationMs >= hold.targetHoldMs,
      unit.value(hold.meanN),
      unit.value(hold.peakN),
      hold.timeInBandMs,
      hold.timeOverMs,
      hold.bodyArea,
      hold.knot,
    ]),
  );
}

function warningsCsv(session: SessionDetail, unit: ExportUnit): string {
  return csvTable(
    warningsCsvColumns(unit.column),
    session.warnings.map((warning, index) => [index + 1, warning.startMs, warning.alertMs, warning.endMs, unit.value(warning.peakN)]),
  );
}

/**
 * The samples as a `t_ms,force_n` trace (what `npm run analyze` and `replay:FILE.csv` read),
 * streamed; times to the microsecond and forces to the millinewton, as `analyze` prints them.
 */
async function* samplesCsv(store: SessionStore, id: number): AsyncGenerator<string> {
  yield `${TRACE_CSV_HEADER}\n`;
  for await (const chunk of store.readSamples(id)) {
    let text = '';
    for (let index = 0; index < chunk.tMs.length; index++) text += `${roundDecimals(chunk.tMs[index] ?? 0, 3)},${roundDecimals(chunk.forceN[index] ?? 0, 3)}\n`;
    yield text;
  }
}

/**
 * Fastify's `clientErrorHandler`: a request that Node's HTTP parser refuses before any
 * route sees it (most often a raw `²` in a query: curl '.../export.csv?unit=kgf/cm²') is
 * answered like every bad request, `{"error": ...}` saying what to do, instead of a stock
 * "Bad Request". Timeouts (408) and oversized headers (431) keep their status.
 */
export function answerUnreadableRequest(error: ConnectionError, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [statusCode, reason] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'it did not arrive in time']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'its headers are too large']
        : error.code === 'HPE_INVALID_URL'
          ? [400, 'its address has characters that must be percent-encoded: e.g. unit=kgf/cm² is unit=kgf%2Fcm%C2%B2 (or unit=kgf/cm2); curl -G --data-urlencode \'unit=kgf/cm²\' encodes it']
          : [400, error.message];
  const body = JSON.stringify({ error: `the request cannot be read: ${reason}` });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? ''}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

/** The routes, as a fastify plugin to register with `{prefix: '/api'}` (its error and 404 handlers are its own). */
export function apiRoutes(options: ApiOptions): FastifyPluginAsync {
  return async (http: FastifyInstance): Promise<void> => {
    await http.register(rateLimit, { global: false });
    const store = (): SessionStore => {
      const current = options.store();
      if (current === null) throw new HttpError(503, options.unavailableReason());
      return current;
    };
    /** The store, for a write: a read-only one is a 503 saying why, before anything is tried. */
    const writableStore = (): SessionStore => {
      const current = store();
      const unwritable = options.unwritableReason();
      if (unwritable !== null) throw new HttpError(503, unwritable);
      return current;
    };
    /** A session with its device's name as it is now. */
    const named = <Session extends SessionSummary>(found: Session): Session =>
      options.deviceName === undefined ? found : { ...found, deviceName: options.deviceName(found.deviceId, found.transport) };
    const session = async (id: number): Promise<SessionDetail> => {
      const found = await store().getSession(id);
      if (found === null) throw notFound(id);
      return named(found);
    };

    http.setErrorHandler((error: unknown, _request, reply) => {
      if (error instanceof HttpError) return reply.code(error.statusCode).send({ error: error.message });
      const unavailable = storeUnavailable(error);
      if (unavailable !== null) {
        http.log.warn({ err: error }, 'review API: the database cannot be written');
        return reply.code(unavailable.statusCode).send({ error: unavailable.message });
      }
      const statusCode = (error as { statusCode?: unknown }).statusCode;
      const message = error instanceof Error ? error.message : String(error);
      if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) return reply.code(statusCode).send({ error: `the request cannot be read: ${message}` });
      http.log.error({ err: error }, 'review API failed');
      return reply.code(500).send({ error: `the server failed: ${message}` });
    });

    http.get('/sessions', async (request) => {
      const query = parsed(listQuerySchema, request.query, 'query');
      const { limit = DEFAULT_PAGE_SIZE, offset = 0, from, to, ...labels } = query;
      const page = await store().listSessions({ ...labels, fromMs: from, toMs: to }, { limit, offset });
      return { ...page, sessions: page.sessions.map(named) };
    });

    http.get('/sessions/:id', async (request) => {
      const { id } = parsed(sessionParamsSchema, request.params, 'path');
      parsed(noQuerySchema, request.query, 'query');
      return session(id);
    });

    http.get('/sessions/:id/samples', async (request) => {
      const { id } = parsed(sessionParamsSchema, request.params, 'path');
      const query = parsed(samplesQuerySchema, request.query, 'query');
      // Without toMs: to the session's end (a fromMs past it gives no samples, not an error).
      const envelope = await store().sampleEnvelope(id, query.fromMs ?? 0, query.toMs ?? null, query.maxPoints ?? DEFAULT_POINTS);
      if (envelope === null) throw notFound(id);
      return envelope;
    });

    http.get('/sessions/:id/export.csv', async (request, reply) => {
      const { id } = parsed(sessionParamsSchema, request.params, 'path');
      const query = parsed(exportQuerySchema, request.query, 'query');
      const table = query.table ?? 'holds';
      if (table === 'samples' && query.unit !== undefined && query.unit !== 'N') {
        throw new HttpError(400, `query: unit ${query.unit} is for the holds and warnings tables: a samples trace is always t_ms,force_n in newtons (what npm run analyze reads)`);
      }
      const unit = exportUnit(query.unit ?? 'N');
      const found = await session(id);
      attachment(reply, `knotmeter-session-${id}-${table}.csv`, 'text/csv; charset=utf-8');
      if (table === 'samples') return reply.send(Readable.from(samplesCsv(store(), id)));
      return reply.send(table === 'holds' ? holdsCsv(found, unit) : warningsCsv(found, unit));
    });

    http.get('/sessions/:id/export.json', async (request, reply) => {
      const { id } = parsed(sessionParamsSchema, request.params, 'path');
      parsed(noQuerySchema, request.query, 'query');
      const found = await session(id);
      return attachment(reply, `knotmeter-session-${found.id}.json`, 'application/json; charset=utf-8').send(`${JSON.stringify(found, null, 2)}\n`);
    });

    http.patch('/sessions/:id', writeRateLimit, async (request) => {
      const { id } = parsed(sessionParamsSchema, request.params, 'path');
      parsed(noQuerySchema, request.query, 'query');
      const { notes } = parsed(sessionPatchSchema, request.body, 'body');
      if (!(await writableStore().setNotes(id, notes))) throw notFound(id);
      return session(id);
    });

    http.patch('/sessions/:id/holds/:number', writeRateLimit, async (request) => {
      const { id, number } = parsed(holdParamsSchema, request.params, 'path');
      parsed(noQuerySchema, request.query, 'query');
      const patch = parsed(holdPatchSchema, request.body, 'body');
      const hold = await writableStore().labelHold(id, number - 1, {
        ...(patch.bodyArea === undefined ? {} : { bodyArea: patch.bodyArea }),
        ...(patch.knot === undefined ? {} : { knot: patch.knot }),
      });
      if (hold !== null) return hold;
      const found = await session(id);
      throw new HttpError(404, found.holds.length === 0 ? `session ${id} has no hold ${number}: it has none` : `session ${id} has no hold ${number}: its holds are numbered 1 to ${found.holds.length}`);
    });

    http.delete('/sessions/:id', writeRateLimit, async (request, reply) => {
      const { id } = parsed(sessionParamsSchema, request.params, 'path');
      parsed(noQuerySchema, request.query, 'query');
      if (options.isRecording(id)) throw new HttpError(409, `session ${id} is being recorded: it can be deleted once it ends`);
      const deleted = await store().getSession(id);
      if (!(await writableStore().deleteSession(id)) || deleted === null) throw notFound(id);
      const { deviceId, startedAt, durationMs, holdCount, warningCount } = deleted;
      options.audit({ client: clientName({ address: request.ip, paired: request.pairedClient }), action: 'delete', deviceId, sessionId: id, before: { startedAt, durationMs: Math.round(durationMs), holdCount, warningCount }, after: null });
      return reply.code(204).send();
    });

    http.get('/trends', async (request) => {
      const { from, to, ...labels } = parsed(trendsQuerySchema, request.query, 'query');
      return store().trends({ ...labels, fromMs: from, toMs: to });
    });

    http.get('/audit', async (request) => {
      const { limit = DEFAULT_PAGE_SIZE, offset = 0 } = parsed(auditQuerySchema, request.query, 'query');
      return store().listAudit({ limit, offset });
    });

    // A route of its own rather than a 404 handler: the dashboard's static files answer every other path.
    http.all('/*', (request, reply) => reply.code(404).send({ error: `no such API route: ${request.method} ${request.url.split('?')[0] ?? ''} (docs/recording.md, "Review API", lists them)` }));
  };
}

