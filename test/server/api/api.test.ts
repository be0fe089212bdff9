// The review API over HTTP on the real server, with a real SQLite file: a trace replayed
// through the pipeline is recorded, then every endpoint is called with good input and
// with bad (bad ids, bad ranges, huge maxPoints, bad bodies, unknown parameters): a bad
// request is a 400 whose JSON names what is wrong, an unknown session or hold a 404.
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../server/app.ts';
import { readTraceCsv } from '../../../server/traces/trace-csv.ts';
import { sampleEnvelopeSchema, sessionDetailSchema, sessionPageSchema, trendsSchema, type SessionDetail } from '../../../server/contract/records.ts';
import { MAX_POINTS } from '../../../server/contract/requests.ts';
import { startTestServer } from '../../support/server.ts';
import { until } from '../../support/until.ts';
import { getJson, startRecordingServer, tempDir, traceEngine, TRACES_DIR } from '../recording/support.ts';

const TRACE = join(TRACES_DIR, 'example_overpressure.csv');

/** A GET written byte for byte on a socket (fetch would percent-encode the path), and the answer's status line and body. */
function rawRequest(baseUrl: string, path: string): Promise<{ statusLine: string; body: string }> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n\r\n`, 'utf8')));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      resolve({ statusLine: text.slice(0, text.indexOf('\r\n')), body: split === -1 ? '' : text.slice(split + 4) });
    });
  });
}

describe('review API', () => {
  let dir: ReturnType<typeof tempDir>;
  let server: RunningServer;
  let api: string;
  let recorded: SessionDetail;

  const get = (path: string) => getJson(`${api}${path}`);
  const send = (method: string, path: string, body: unknown, contentType = 'application/json') =>
    getJson(`${api}${path}`, { method, headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  beforeAll(async () => {
    dir = tempDir();
    server = await startRecordingServer({ devices: [`replay:${TRACE}`, `replay:${TRACE}`], db: join(dir.path, 'api.db'), engine: traceEngine(), replaySpeed: null });
    api = `${server.url}/api`;
    await until(() => server.pipelines.every((pipeline) => pipeline.status().state === 'stopped'), 'both replays to end');
    await server.recording?.recorder?.flush(true);
    recorded = sessionDetailSchema.parse((await get('/sessions/1')).body);
  });
  afterAll(async () => {
    await server.close();
    dir.remove();
  });

  it('lists sessions, newest first, with their hold and warning counts, in pages', async () => {
    const { status, body } = await get('/sessions');
    expect(status).toBe(200);
    const page = sessionPageSchema.parse(body);
    expect(page).toMatchObject({ total: 2, limit: 50, offset: 0 });
    expect(page.sessions.map((session) => session.id).sort()).toEqual([1, 2]);
    expect(page.sessions[0]).toMatchObject({ status: 'complete', transport: 'replay', holdCount: 1, warningCount: 1, totalHoldMs: 14_860 });
    const second = sessionPageSchema.parse((await get('/sessions?limit=1&offset=1')).body);
    expect(second.sessions).toHaveLength(1);
    expect(second.total).toBe(2);
    const deviceId = recorded.deviceId;
    expect(sessionPageSchema.parse((await get(`/sessions?deviceId=${deviceId}&status=complete`)).body).sessions.map((session) => session.id)).toEqual([1]);
    const today = new Date().toISOString().slice(0, 10);
    expect(sessionPageSchema.parse((await get(`/sessions?from=${today}&to=${today}`)).body).total).toBe(2);
    expect(sessionPageSchema.parse((await get('/sessions?to=2020-01-01')).body).total).toBe(0);
  });

  it.each([
    ['/sessions?limit=0', /query: limit must be a whole number from 1 to 200 \(got "0"\)/],
    ['/sessions?limit=100000', /limit must be a whole number from 1 to 200/],
    ['/sessions?offset=-1', /offset must be a whole number from 0/],
    ['/sessions?from=yesterday', /from must be a date \(2026-11-02\) or a date and time/],
    ['/sessions?from=2026-11-05&to=2026-11-01', /from must be before to/],
    ['/sessions?status=paused', /query: status must be one of recording, complete, interrupted \(got "paused"\)/],
    ['/sessions?sort=id', /unknown parameter "sort"/],
    ['/sessions?limit=1&limit=2', /limit must be given once/],
    ['/sessions?bodyArea=', /must not be empty/],
    ['/sessions/abc', /path: the session id must be a whole number from 1 on/],
    ['/sessions/0', /the session id must be a whole number from 1 on/],
    ['/sessions/1/samples?maxPoints=1000000', new RegExp(`maxPoints must be a whole number from 2 to ${MAX_POINTS}`)],
    ['/sessions/1/samples?maxPoints=1', /maxPoints must be a whole number from 2/],
    ['/sessions/1/samples?fromMs=500&toMs=100', /fromMs must be below toMs/],
    ['/sessions/1/samples?fromMs=-5', /fromMs must be at least 0/],
    ['/sessions/1/samples?toMs=later', /toMs must be a number of ms since the session's first sample/],
    ['/sessions/1/export.csv?table=everything', /table must be one of holds, warnings, samples/],
    ['/sessions/1/export.csv?unit=stone', /query: unit must be one of N, kgf, lbf, kPa, kgf\/cm² \(or in ASCII kgf\/cm2.*\(got "stone"\)/],
    ['/trends?from=2026-13-01', /from must be a date/],
    ['/sessions/1?unit=kgf', /^query: unknown parameter "unit"$/],
    ['/sessions/1/export.json?table=holds', /^query: unknown parameter "table"$/],
    ['/sessions/1/export.csv?table=samples&unit=kgf', /^query: unit kgf is for the holds and warnings tables: a samples trace is always t_ms,force_n in newtons/],
  ])('GET %s is refused with 400 naming what is wrong', async (path, message) => {
    const { status, body } = await get(path);
    expect(status).toBe(400);
    expect((body as { error: string }).error).toMatch(message);
  });

  it.each(['/sessions/99', '/sessions/99/samples', '/sessions/99/export.csv', '/sessions/99/export.json'])('GET %s of an unknown session is a 404', async (path) => {
    const { status, body } = await get(path);
    expect(status).toBe(404);
    expect(body).toEqual({ error: 'there is no session 99 (GET /api/sessions lists them)' });
  });

  it('answers an unknown route under /api with a JSON 404', async () => {
    const { status, body } = await get('/sessionz');
    expect(status).toBe(404);
    expect((body as { error: string }).error).toMatch(/no such API route: GET \/api\/sessionz/);
  });

  it('gives a session with the holds and warnings analyze finds, times from its first sample', () => {
    expect(recorded).toMatchObject({ id: 1, status: 'complete', transport: 'replay', preset: null, firstDeviceMs: 0, durationMs: 18_390, sampleCount: 1840 });
    expect(recorded.holds).toEqual([expect.objectContaining({ number: 1, startMs: 1530, endMs: 16_390, durationMs: 14_860, meanN: 28.491, peakN: 49.912, targetHoldMs: 60_000, bodyArea: null, knot: null })]);
    expect(recorded.warnings).toEqual([{ startMs: 8140, alertMs: 8240, endMs: 9820, peakN: 49.912 }]);
  });

  it('thins the force to a min/max envelope of at most maxPoints, or gives the samples as they are', async () => {
    const overview = sampleEnvelopeSchema.parse((await get('/sessions/1/samples?maxPoints=100')).body);
    expect(overview).toMatchObject({ fromMs: 0, toMs: 18_390, exact: false });
    expect(overview.tMs.length).toBeLessThanOrEqual(100);
    expect(Math.max(...overview.maxN)).toBeCloseTo(49.912, 3);
    expect(overview.minN.every((minN, index) => minN <= (overview.maxN[index] ?? Number.NaN))).toBe(true);
    const detail = sampleEnvelopeSchema.parse((await get('/sessions/1/samples?fromMs=8000&toMs=8100')).body);
    expect(detail.exact).toBe(true);
    expect(detail.tMs).toEqual([8000, 8010, 8020, 8030, 8040, 8050, 8060, 8070, 8080, 8090, 8100]);
    expect(detail.minN).toEqual(detail.maxN);
    const pastTheEnd = sampleEnvelopeSchema.parse((await get('/sessions/1/samples?fromMs=999999')).body);
    expect(pastTheEnd.tMs).toEqual([]);
    const all = sampleEnvelopeSchema.parse((await get(`/sessions/1/samples?maxPoints=${MAX_POINTS}`)).body);
    expect(all.exact).toBe(true);
    expect(all.tMs).toHaveLength(1840);
  });

  it('labels a hold (PATCH), and refuses bad labels, bad holds and bad bodies', async () => {
    const patched = await send('PATCH', '/sessions/1/holds/1', { bodyArea: 'neck', knot: '=HYPERLINK("http://x","y")' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ number: 1, bodyArea: 'neck', knot: '=HYPERLINK("http://x","y")' });
    expect((await send('PATCH', '/sessions/1/holds/1', { knot: null })).body).toMatchObject({ bodyArea: 'neck', knot: null });
    await send('PATCH', '/sessions/1/holds/1', { knot: '=HYPERLINK("http://x","y")' });

    const bad: [string, unknown, number, RegExp][] = [
      ['/sessions/1/holds/1', {}, 400, /give bodyArea, knot or both/],
      ['/sessions/1/holds/1', { bodyArea: 7 }, 400, /bodyArea: must be text/],
      ['/sessions/1/holds/1', { bodyArea: 'x'.repeat(61) }, 400, /must be at most 60 characters/],
      ['/sessions/1/holds/1', { knot: 'two\nlines' }, 400, /must not contain control characters/],
      ['/sessions/1/holds/1', { colour: 'red' }, 400, /unknown parameter "colour"/],
      ['/sessions/1/holds/1', [1, 2], 400, /the body must be a JSON object like/],
      ['/sessions/1/holds/1', '{"bodyArea": ', 400, /the request cannot be read/],
      ['/sessions/1/holds/x', { bodyArea: 'neck' }, 400, /the hold number must be a whole number from 1 on \(the first hold is 1/],
      ['/sessions/1/holds/0', { bodyArea: 'neck' }, 400, /the hold number must be a whole number from 1 on/],
      ['/sessions/1/holds/5', { bodyArea: 'neck' }, 404, /session 1 has no hold 5: its holds are numbered 1 to 1/],
      ['/sessions/99/holds/1', { bodyArea: 'neck' }, 404, /there is no session 99/],
      ['/sessions/1/holds/1?dryRun=1', { bodyArea: 'neck' }, 400, /query: unknown parameter "dryRun"/],
    ];
    for (const [path, body, status, message] of bad) {
      const answer = await send('PATCH', path, body);
      expect(answer.status, `${path} ${JSON.stringify(body)}`).toBe(status);
      expect((answer.body as { error: string }).error).toMatch(message);
    }
    const sessions = sessionPageSchema.parse((await get('/sessions?bodyArea=Neck')).body);
    expect(sessions.sessions.map((session) => [session.id, session.bodyAreas])).toEqual([[1, ['neck']]]);
  });

  it('keeps notes (PATCH) and refuses notes that are not text or too long', async () => {
    const saved = await send('PATCH', '/sessions/1', { notes: 'tender on the left' });
    expect(saved.status).toBe(200);
    expect(sessionDetailSchema.parse(saved.body).notes).toBe('tender on the left');
    expect((await send('PATCH', '/sessions/1', { notes: 3 })).status).toBe(400);
    expect(((await send('PATCH', '/sessions/1', { notes: 'x'.repeat(2001) })).body as { error: string }).error).toMatch(/notes must be at most 2000 characters/);
    expect((await send('PATCH', '/sessions/99', { notes: 'x' })).status).toBe(404);
  });

  it('exports holds as CSV safe against formula injection, warnings, and the samples as a trace analyze reads', async () => {
    const holds = await fetch(`${api}/sessions/1/export.csv`);
    expect(holds.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(holds.headers.get('content-disposition')).toBe('attachment; filename="knotmeter-session-1-holds.csv"');
    const lines = (await holds.text()).split('\r\n');
    expect(lines[0]).toBe('hold,start_ms,end_ms,duration_ms,target_hold_ms,reached_target,mean_n,peak_n,time_in_band_ms,time_over_ms,body_area,knot');
    expect(lines[1]).toBe('1,1530,16390,14860,60000,false,28.491,49.912,12840,1620,neck,"\'=HYPERLINK(""http://x"",""y"")"');
    expect(await (await fetch(`${api}/sessions/1/export.csv?table=warnings`)).text()).toBe('warning,start_ms,alert_ms,end_ms,peak_n\r\n1,8140,8240,9820,49.912\r\n');
    // In the unit the user reads forces in: kgf (1 kgf = 9.80665 N), and kPa over the default 1.5 cm² tip.
    // Rounded to what the recorded millinewtons say in that unit (49.912 N = 5.0896 kgf), not 5.089607562215436.
    expect(await (await fetch(`${api}/sessions/1/export.csv?table=warnings&unit=kgf`)).text()).toBe('warning,start_ms,alert_ms,end_ms,peak_kgf\r\n1,8140,8240,9820,5.0896\r\n');
    expect(await (await fetch(`${api}/sessions/1/export.csv?table=warnings&unit=lbf`)).text()).toMatch(/,11\.2207\r\n$/);
    const inKpa = (await (await fetch(`${api}/sessions/1/export.csv?unit=${encodeURIComponent('kPa')}`)).text()).split('\r\n');
    expect(inKpa[0]).toContain('mean_kpa,peak_kpa');
    expect(inKpa[1]?.split(',').slice(6, 8)).toEqual(['189.94', '332.747']);
    const perCm2 = (await (await fetch(`${api}/sessions/1/export.csv?unit=${encodeURIComponent('kgf/cm²')}`)).text()).split('\r\n');
    expect(perCm2[0]).toContain('mean_kgf_per_cm2,peak_kgf_per_cm2');
    expect(perCm2[1]?.split(',').slice(6, 8)).toEqual(['1.93685', '3.39307']);

    const samples = await (await fetch(`${api}/sessions/1/export.csv?table=samples`)).text();
    const exported = join(dir.path, 'exported.csv');
    writeFileSync(exported, samples);
    let count = 0;
    for await (const batch of readTraceCsv(exported)) count += batch.tMs.length;
    expect(count).toBe(1840);
    // Times to the microsecond, forces to the millinewton: no float noise such as 20.100000000000001.
    expect(samples.split('\n').slice(1, -1).filter((line) => !/^\d+(\.\d{1,3})?,-?\d+(\.\d{1,3})?$/.test(line))).toEqual([]);
  });

  it('takes the pressure unit spelt in ASCII, and answers a raw ² in the address with the usual JSON error', async () => {
    for (const spelling of ['kgf/cm2', 'kgf_per_cm2']) {
      const response = await fetch(`${api}/sessions/1/export.csv?table=warnings&unit=${spelling}`);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('warning,start_ms,alert_ms,end_ms,peak_kgf_per_cm2\r\n1,8140,8240,9820,3.39307\r\n');
    }
    // What curl sends for curl '...?unit=kgf/cm²': the UTF-8 bytes as they are, which Node's parser refuses before any route.
    const raw = await rawRequest(server.url, '/api/sessions/1/export.csv?unit=kgf/cm²');
    expect(raw.statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect((JSON.parse(raw.body) as { error: string }).error).toMatch(/^the request cannot be read: its address has characters that must be percent-encoded: e\.g\. unit=kgf\/cm² is unit=kgf%2Fcm%C2%B2 \(or unit=kgf\/cm2\)/);
  });

  it('exports the whole session as a JSON file', async () => {
    const response = await fetch(`${api}/sessions/1/export.json`);
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="knotmeter-session-1.json"');
    const exported = sessionDetailSchema.parse(await response.json());
    expect(exported.holds).toEqual(sessionDetailSchema.parse((await get('/sessions/1')).body).holds);
  });

  it('groups holds by body area and knot over weeks', async () => {
    const trends = trendsSchema.parse((await get('/trends')).body);
    expect(trends.groups.map((group) => [group.bodyArea, group.knot, group.holds.length])).toEqual([
      ['neck', '=HYPERLINK("http://x","y")', 1],
      [null, null, 1],
    ]);
    expect(trends.groups[0]?.weeks[0]).toMatchObject({ holdCount: 1, medianDurationMs: 14_860, highestPeakN: 49.912 });
    expect(trendsSchema.parse((await get('/trends?bodyArea=back')).body).groups).toEqual([]);
  });

  it('matches body areas and knots whatever their case, hyphens, underscores or spaces, in lists and trends', async () => {
    expect((await send('PATCH', '/sessions/2/holds/1', { bodyArea: 'Upper back', knot: 'left rhomboid' })).status).toBe(200);
    const ids = async (query: string): Promise<number[]> => sessionPageSchema.parse((await get(`/sessions?${query}`)).body).sessions.map((session) => session.id);
    expect(await ids('bodyArea=upper-back')).toEqual([2]);
    expect(await ids('bodyArea=UPPER_BACK&knot=Left-Rhomboid')).toEqual([2]);
    expect(await ids('bodyArea=upper%20%20back')).toEqual([2]);
    expect(await ids('bodyArea=upperback')).toEqual([]);
    expect(await ids('knot=left')).toEqual([]);
    // Stored as typed: the session still says "Upper back".
    expect(sessionDetailSchema.parse((await get('/sessions/2')).body).bodyAreas).toEqual(['Upper back']);

    expect((await send('PATCH', '/sessions/1/holds/1', { bodyArea: 'upper-back', knot: 'Left Rhomboid' })).status).toBe(200);
    const trends = trendsSchema.parse((await get('/trends?bodyArea=upper-back')).body);
    // Two spellings of one label are one group, named as first written.
    expect(trends.groups).toHaveLength(1);
    expect(trends.groups[0]?.holds.map((hold) => hold.sessionId).sort()).toEqual([1, 2]);
    expect(trends.groups[0]?.holds.map((hold) => hold.holdNumber)).toEqual([1, 1]);
    expect(['Upper back', 'upper-back']).toContain(trends.groups[0]?.bodyArea);
    expect(trendsSchema.parse((await get('/trends')).body).groups).toHaveLength(1);
  });

  it('deletes a session and everything in it; a second delete is a 404', async () => {
    const remove = (path: string) => getJson(`${api}${path}`, { method: 'DELETE' });
    expect((await remove('/sessions/2')).status).toBe(204);
    expect((await get('/sessions/2')).status).toBe(404);
    expect((await get('/sessions/2/samples')).status).toBe(404);
    expect((await remove('/sessions/2')).status).toBe(404);
    expect((await remove('/sessions/x')).status).toBe(400);
  });
});

describe('review API while recording and without a database', () => {
  it('refuses to delete a session still being recorded (409)', async () => {
    const dir = tempDir();
    const server = await startRecordingServer({ devices: ['sim:over-pressure?rate=100&speed=10'], db: join(dir.path, 'live.db') });
    try {
      await until(() => server.recording?.status().devices[0]?.sessionId != null, 'a session to be recorded');
      const { status, body } = await getJson(`${server.url}/api/sessions/1`, { method: 'DELETE' });
      expect(status).toBe(409);
      expect(body).toEqual({ error: 'session 1 is being recorded: it can be deleted once it ends' });
      expect(sessionDetailSchema.parse((await getJson(`${server.url}/api/sessions/1`)).body).status).toBe('recording');
    } finally {
      await server.close();
      dir.remove();
    }
  });

  it('answers 503 naming the reason when the server records nothing', async () => {
    const server = await startTestServer(['sim:idle']);
    try {
      const { status, body } = await getJson(`${server.url}/api/sessions`);
      expect(status).toBe(503);
      expect(body).toEqual({ error: 'this server records nothing: start it with --db FILE' });
    } finally {
      await server.close();
    }
  });
});
