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
 *   POST   /api/ppt                           a PPT measurement (analysed again here), GET lists them
 *   GET    /api/ppt/:id, DELETE /api/ppt/:id  one measurement; deleting it is audited
 *   GET    /api/ppt/export.csv|export.json    the measurements listed, one trial a CSV line
 *   GET    /api/ppt/trends                    PPT per knot over weeks, before and after
 *   GET    /api/sessions/:id/ppt              the session's before/after pairs per knot
 *   GET    /api/ppt/preset-preview            the preset a knot's latest PPT makes, beside the one in force
 *   POST   /api/ppt/presets, GET, DELETE /api/ppt/presets/:id   knot presets (accepting and deleting are audited)
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
import { csvTable, forceCell, holdsCsvColumns, PPT_CSV_COLUMNS, TRACE_CSV_HEADER, warningsCsvColumns, type CsvValue } from '../contract/csv.ts';
import {
  knotPresetInputSchema,
  pptExportQuerySchema,
  pptListQuerySchema,
  pptMeasurementInputSchema,
  pptParamsSchema,
  pptPreviewQuerySchema,
  pptTrendsQuerySchema,
  type PptMeasurement,
  type PptPresetPreview,
} from '../contract/ppt.ts';
import { presetFromPpt } from '../engine/preset-from-ppt.ts';
import type { EngineConfig } from '../engine/results.ts';
import { PptInputError } from '../recording/ppt-records.ts';
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
  /** A device running on this server, for a preset from a PPT (absent or null: not here). */
  readonly pptDevice?: (deviceId: string) => PptDeviceContext | null;
}

/** What a preset made from a PPT needs of the device it is for. */
export interface PptDeviceContext {
  /** The firmware's alarm ceiling in newtons through the device's calibration (null: the device has no alarm of its own). */
  readonly ceilingN: number | null;
  /** The preset in force: its name (a body-area preset, a knot preset's, or "custom"), its config. */
  readonly presetName: string;
  readonly engineConfig: EngineConfig;
}

/** Up to 10 trials of 12 000 samples as JSON; every other body stays under Fastify's 1 MiB. */
const PPT_BODY_LIMIT_BYTES = 4 * 1024 * 1024;

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

/** One line a trial; the measurement's columns repeated on each (a spreadsheet filters them). */
function pptCsv(measurements: readonly PptMeasurement[]): string {
  const rows: CsvValue[][] = [];
  for (const measurement of measurements) {
    const { summary } = measurement;
    measurement.trials.forEach((trial, index) => {
      rows.push([
        measurement.id,
        measurement.createdAt,
        measurement.deviceId,
        measurement.bodyArea,
        measurement.knot,
        measurement.phase,
        measurement.sessionId,
        measurement.rateKPaPerS,
        measurement.areaCm2,
        index + 1,
        roundDecimals(trial.startMs, 3),
        roundDecimals(trial.onsetMs, 3),
        trial.onset,
        roundDecimals(trial.pptN, 3),
        roundDecimals(trial.pptKPa, 3),
        roundDecimals(trial.rateNPerS, 3),
        roundDecimals(trial.rateKPaPerS, 3),
        trial.valid,
        trial.reason,
        summary.meanPptN === null ? null : roundDecimals(summary.meanPptN, 3),
        summary.meanPptKPa === null ? null : roundDecimals(summary.meanPptKPa, 3),
        summary.sdN === null ? null : roundDecimals(summary.sdN, 3),
        summary.cv === null ? null : roundDecimals(summary.cv, 4),
      ]);
    });
  }
  return csvTable(PPT_CSV_COLUMNS, rows);
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
      const { from, to, tz, ...labels } = parsed(trendsQuerySchema, request.query, 'query');
      return store().trends({ ...labels, fromMs: from, toMs: to }, tz);
    });

    const pptNotFound = (id: number): HttpError => new HttpError(404, `there is no PPT measurement ${id} (GET /api/ppt lists them)`);
    const pptFilterOf = (query: { deviceId?: string | undefined; bodyArea?: string | undefined; knot?: string | undefined; phase?: 'before' | 'after' | undefined; sessionId?: number | undefined; from?: number | undefined; to?: number | undefined }) => {
      const { from, to, ...rest } = query;
      return { ...rest, fromMs: from, toMs: to };
    };

    http.post('/ppt', { ...writeRateLimit, bodyLimit: PPT_BODY_LIMIT_BYTES }, async (request, reply) => {
      parsed(noQuerySchema, request.query, 'query');
      const input = parsed(pptMeasurementInputSchema, request.body, 'body');
      const current = writableStore();
      if (input.sessionId != null && (await current.getSession(input.sessionId)) === null) {
        throw new HttpError(400, `body: sessionId: there is no session ${input.sessionId} (GET /api/sessions lists them; leave it out for a measurement outside a session)`);
      }
      try {
        return await reply.code(201).send(await current.ppt.save(input, Date.now()));
      } catch (error) {
        if (error instanceof PptInputError) throw new HttpError(400, `body: trials: ${error.message}`);
        throw error;
      }
    });

    http.get('/ppt', async (request) => {
      const { limit = DEFAULT_PAGE_SIZE, offset = 0, ...filter } = parsed(pptListQuerySchema, request.query, 'query');
      return store().ppt.list(pptFilterOf(filter), { limit, offset });
    });

    http.get('/ppt/export.csv', async (request, reply) => {
      const measurements = await store().ppt.all(pptFilterOf(parsed(pptExportQuerySchema, request.query, 'query')));
      return attachment(reply, 'knotmeter-ppt.csv', 'text/csv; charset=utf-8').send(pptCsv(measurements));
    });

    http.get('/ppt/export.json', async (request, reply) => {
      const measurements = await store().ppt.all(pptFilterOf(parsed(pptExportQuerySchema, request.query, 'query')));
      return attachment(reply, 'knotmeter-ppt.json', 'application/json; charset=utf-8').send(`${JSON.stringify({ measurements }, null, 2)}\n`);
    });

    http.get('/ppt/trends', async (request) => {
      const { tz, ...filter } = parsed(pptTrendsQuerySchema, request.query, 'query');
      return store().ppt.trends(pptFilterOf(filter), tz);
    });

    http.get('/sessions/:id/ppt', async (request) => {
      const { id } = parsed(sessionParamsSchema, request.params, 'path');
      parsed(noQuerySchema, request.query, 'query');
      await session(id);
      return store().ppt.sessionPairs(id);
    });

    /** The preset the knot's latest PPT makes for the device, beside the one in force; refusals are 404, 409 or 422 saying why. */
    const previewFor = async (bodyArea: string, knot: string, deviceId: string): Promise<PptPresetPreview> => {
      const device = options.pptDevice?.(deviceId) ?? null;
      if (device === null) throw new HttpError(404, `no device ${deviceId} is running on this server: a preset from a PPT is bounded by the device's own alarm ceiling, so connect it first`);
      const latest = await store().ppt.latestPpt(bodyArea, knot);
      const pptN = latest?.summary.meanPptN ?? null;
      if (latest === null || pptN === null) throw new HttpError(404, `no PPT with a valid trial is stored for ${bodyArea} / ${knot}: measure it first (POST /api/ppt)`);
      const knotPreset = await store().ppt.knotPreset(bodyArea, knot);
      const current = knotPreset === null ? { name: device.presetName, engineConfig: device.engineConfig } : { name: knotPreset.name, engineConfig: knotPreset.engineConfig };
      const made = presetFromPpt({ pptN, ceilingN: device.ceilingN, base: current.engineConfig });
      if (!made.ok) throw new HttpError(422, `no preset from measurement ${latest.id}: ${made.reason}`);
      return { bodyArea: latest.bodyArea, knot: latest.knot, fromMeasurementId: latest.id, pptN, ceilingN: device.ceilingN, current, proposed: made.config };
    };

    http.get('/ppt/preset-preview', async (request) => {
      const { bodyArea, knot, deviceId } = parsed(pptPreviewQuerySchema, request.query, 'query');
      return previewFor(bodyArea, knot, deviceId);
    });

    http.get('/ppt/presets', async (request) => {
      parsed(noQuerySchema, request.query, 'query');
      return { presets: await store().ppt.knotPresets() };
    });

    http.post('/ppt/presets', writeRateLimit, async (request, reply) => {
      parsed(noQuerySchema, request.query, 'query');
      const input = parsed(knotPresetInputSchema, request.body, 'body');
      const current = writableStore();
      const preview = await previewFor(input.bodyArea, input.knot, input.deviceId);
      if (preview.fromMeasurementId !== input.fromMeasurementId) {
        throw new HttpError(409, `the knot's latest PPT is now measurement ${preview.fromMeasurementId}, not ${input.fromMeasurementId}: preview again (GET /api/ppt/preset-preview) and accept that one; nothing changed`);
      }
      const name = input.name ?? `${preview.bodyArea} / ${preview.knot} (PPT ${roundDecimals(preview.pptN, 1)} N)`;
      const saved = await current.ppt.putKnotPreset({ name, bodyArea: preview.bodyArea, knot: preview.knot, engineConfig: preview.proposed, fromMeasurementId: preview.fromMeasurementId, pptN: preview.pptN }, Date.now());
      const limits = (config: EngineConfig) => ({ bandLowN: roundDecimals(config.bandLowN, 3), bandHighN: roundDecimals(config.bandHighN, 3), overLimitN: roundDecimals(config.overLimitN, 3) });
      options.audit({
        client: clientName({ address: request.ip, paired: request.pairedClient }),
        action: 'preset',
        deviceId: input.deviceId,
        sessionId: null,
        before: { preset: preview.current.name, ...limits(preview.current.engineConfig) },
        after: { preset: saved.name, knotPreset: saved.id, fromPptMeasurement: preview.fromMeasurementId, ...limits(saved.engineConfig) },
      });
      return reply.code(201).send(saved);
    });

    http.delete('/ppt/presets/:id', writeRateLimit, async (request, reply) => {
      const { id } = parsed(pptParamsSchema, request.params, 'path');
      parsed(noQuerySchema, request.query, 'query');
      const current = writableStore();
      const deleted = (await current.ppt.knotPresets()).find((preset) => preset.id === id);
      if (deleted === undefined || !(await current.ppt.deleteKnotPreset(id))) throw new HttpError(404, `there is no knot preset ${id} (GET /api/ppt/presets lists them)`);
      options.audit({ client: clientName({ address: request.ip, paired: request.pairedClient }), action: 'preset', deviceId: null, sessionId: null, before: { knotPreset: deleted.id, preset: deleted.name }, after: null });
      return reply.code(204).send();
    });

    http.get('/ppt/:id', async (request) => {
      const { id } = parsed(pptParamsSchema, request.params, 'path');
      parsed(noQuerySchema, request.query, 'query');
      const found = await store().ppt.get(id);
      if (found === null) throw pptNotFound(id);
      return found;
    });

    http.delete('/ppt/:id', writeRateLimit, async (request, reply) => {
      const { id } = parsed(pptParamsSchema, request.params, 'path');
      parsed(noQuerySchema, request.query, 'query');
      const current = writableStore();
      const deleted = await current.ppt.get(id);
      if (deleted === null || !(await current.ppt.delete(id))) throw pptNotFound(id);
      const { deviceId, bodyArea, knot, phase, createdAt, sessionId, summary } = deleted;
      options.audit({
        client: clientName({ address: request.ip, paired: request.pairedClient }),
        action: 'delete',
        deviceId,
        sessionId,
        before: { pptMeasurement: id, bodyArea, knot, phase, createdAt, meanPptN: summary.meanPptN === null ? null : roundDecimals(summary.meanPptN, 3) },
        after: null,
      });
      return reply.code(204).send();
    });

    http.get('/audit', async (request) => {
      const { limit = DEFAULT_PAGE_SIZE, offset = 0 } = parsed(auditQuerySchema, request.query, 'query');
      return store().listAudit({ limit, offset });
    });

    // A route of its own rather than a 404 handler: the dashboard's static files answer every other path.
    http.all('/*', (request, reply) => reply.code(404).send({ error: `no such API route: ${request.method} ${request.url.split('?')[0] ?? ''} (docs/recording.md, "Review API", lists them)` }));
  };
}

