/**
 * What every command example of the manual must do, keyed by its exact text (see
 * examples.ts for what counts as an example). Examples that depend on each other run in
 * one scenario, in one fresh copy of the repository, in document order. A documented
 * example with no entry here, or an entry that matches no documented example, fails
 * docs-catalogue.test.ts: a new example needs a check, a removed one its entry removed.
 *
 * Port 8080. Most examples start the server on its default port, and the docs' curl
 * lines ask 127.0.0.1:8080. They run exactly as typed (moving them to another port would
 * mean rewriting the commands under test), each scenario in a network namespace of its own
 * (own-network.ts), where port 8080 is free whatever holds it on this machine, so those
 * scenarios too run side by side.
 *
 * `npm install`: `npm install && npm start` runs its `npm start` in a copy whose
 * node_modules links to the checkout's installed packages; that is what `npm install`
 * stands for here (running it would rewrite the shared node_modules, or rebuild
 * better-sqlite3 from source for each copy). The entry says so in `runs`/`because`.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { z } from 'zod';
import { recordedHoldSchema, sampleEnvelopeSchema, sessionDetailSchema, sessionPageSchema, type RecordedHold } from '../../server/contract/records.ts';
import { pptAnalysisSchema } from '../../server/contract/ppt.ts';
import type { JobExit, TypedCommand } from '../support/typed-command.ts';
import { until } from '../support/until.ts';
import { eventually, getJson, LiveStream, printedJson, withoutNpmBanner } from './probes.ts';

export interface ServerContext {
  /** The URL it printed. */
  readonly url: string;
  /** The repository copy it runs in. */
  readonly dir: string;
  readonly job: TypedCommand;
}

export interface CommandContext {
  readonly dir: string;
  /** The URL of the server an earlier step of the scenario left running, or null. */
  readonly serverUrl: string | null;
}

interface StepBase {
  /** The command exactly as documented. */
  readonly command: string;
  /** What is run when it differs from `command` (a part of it), and why. */
  readonly runs?: { readonly part: string; readonly because: string };
}

/** A command that serves until Ctrl-C: it prints a URL, does what the docs say while running, and exits 0 on one SIGINT. */
export interface ServerStep extends StepBase {
  readonly kind: 'server';
  /** Its announcement, the URL in the first group. */
  readonly announces?: RegExp;
  /** The URL it must print, when the command fixes it. */
  readonly url?: string;
  readonly startsWithinMs?: number;
  /** Checks while it runs; it keeps running for the steps after it in the scenario. */
  readonly whileRunning: (server: ServerContext) => Promise<void>;
  /**
   * How one Ctrl-C must end it: `exit 0` (ours: it shuts down cleanly), or `by SIGINT` for a
   * program of others with no handler of its own, which dies of the signal (nothing of it
   * may be left either way); `because` says why.
   */
  readonly ctrlC?: { readonly endsBy: 'SIGINT'; readonly because: string };
  /** Checks once it has stopped (on Ctrl-C). */
  readonly afterStop?: (exit: JobExit, dir: string) => void | Promise<void>;
}

/** A command that runs to its end and prints something. */
export interface PrintStep extends StepBase {
  readonly kind: 'prints';
  readonly exitCode?: number;
  readonly finishesWithinMs: number;
  readonly check: (exit: JobExit, context: CommandContext) => void | Promise<void>;
  /** Undoes what it leaves outside the copy. */
  readonly cleanUp?: () => void;
}

export type Step = ServerStep | PrintStep;

export interface Scenario {
  readonly title: string;
  /** `fresh`: as cloned (no data/, no dashboard/dist); `built`: with the dashboard built, as after a first start. */
  readonly copy: 'fresh' | 'built';
  /** In document order. */
  readonly steps: readonly Step[];
}

const KNOTMETER_URL = 'http://127.0.0.1:8080';

/** Runs `check` with a live-stream client on the server, closing it after. */
async function withLiveStream(url: string, check: (live: LiveStream) => Promise<void>): Promise<void> {
  const live = new LiveStream(url);
  try {
    await check(live);
  } finally {
    live.close();
  }
}

/** The dashboard page is served and its script exists. */
async function servesDashboard(url: string): Promise<void> {
  const page = await fetch(`${url}/`);
  expect(page.status).toBe(200);
  const html = await page.text();
  const script = /<script[^>]+src="\/?([^"]+\.js)"/.exec(html)?.[1];
  expect(script, `the dashboard page has a script: ${html.slice(0, 300)}`).toBeDefined();
  // Read to its end, as a browser does: a response left unread is a connection left open.
  const scriptResponse = await fetch(`${url}/${script ?? ''}`);
  expect(scriptResponse.status).toBe(200);
  expect((await scriptResponse.arrayBuffer()).byteLength).toBeGreaterThan(0);
}

/** Devices with these transports stream readings; returns them. */
async function streamsFrom(live: LiveStream, transports: readonly string[], readings = 100, limitMs = 20_000): Promise<LiveStream['devices']> {
  const devices = await live.waitForDevices(transports.length, limitMs);
  expect(devices.map((device) => device.transport)).toEqual(transports);
  await live.waitForReadings(readings, limitMs);
  return devices;
}

/** The recorder writes into this file (relative to the copy) and has opened a session for the device. */
async function recordsSessionOf(live: LiveStream, url: string, deviceId: string, database: string, limitMs: number): Promise<void> {
  await until(() => live.recorder?.state === 'recording', `the recorder to record (it says ${JSON.stringify(live.recorder)})`, 20_000);
  expect(live.recorder?.database).toMatch(new RegExp(`(^|/)${database.replace(/[.]/g, '\\.')}$`));
  const sessionOf = (): number | null | undefined => live.recorder?.devices.find((device) => device.deviceId === deviceId)?.sessionId;
  await until(() => typeof sessionOf() === 'number', `a recorded session of ${deviceId} (the simulated massager's first press)`, limitMs);
  const page = await getJson(`${url}/api/sessions`, sessionPageSchema);
  expect(page.sessions.map((session) => [session.id, session.deviceId])).toContainEqual([sessionOf(), deviceId]);
}

function simulatorServer(command: string, transports: readonly string[], more?: (live: LiveStream, server: ServerContext) => Promise<void> | void): ServerStep {
  return {
    kind: 'server',
    command,
    url: KNOTMETER_URL,
    whileRunning: (server) =>
      withLiveStream(server.url, async (live) => {
        await streamsFrom(live, transports);
        await more?.(live, server);
      }),
  };
}

/** An over-pressure warning reaches the live stream (the scenario's first push comes within about 20 s). */
async function warnsOverPressure(live: LiveStream): Promise<void> {
  const [device] = live.devices;
  const event = await live.waitForEngineEvent(device?.deviceId ?? '', 'over.started', 45_000);
  expect(event.type === 'over.started' && event.warning.peakN).toBeGreaterThanOrEqual(device?.engineConfig.overLimitN ?? Infinity);
}

const printedHoldsSchema = z.array(z.object({ startMs: z.number(), endMs: z.number(), durationMs: z.number(), meanN: z.number(), peakN: z.number() }));
const printedWarningsSchema = z.array(z.object({ startMs: z.number(), alertMs: z.number(), endMs: z.number().nullable(), peakN: z.number() }));

function expectedResults(expectedFile: string, dir: string): { holds: Record<string, number>[]; warnings: Record<string, number | null>[] } {
  return z.object({ holds: z.array(z.record(z.string(), z.number())), warnings: z.array(z.record(z.string(), z.number().nullable())) }).parse(JSON.parse(readFileSync(join(dir, expectedFile), 'utf8')));
}

/** Each result within the tolerances the traces' README gives, one for one. */
function closeToExpected(got: readonly Record<string, number | null>[], want: readonly Record<string, number | null>[]): void {
  expect(got).toHaveLength(want.length);
  got.forEach((result, i) => {
    for (const [key, value] of Object.entries(want[i] ?? {})) {
      const tolerance = key.endsWith('N') ? 0.5 : key === 'durationMs' ? 120 : 60;
      if (value === null) expect(result[key], key).toBeNull();
      else expect(Math.abs((result[key] ?? NaN) - value), `${key}: ${result[key]} against ${value}`).toBeLessThanOrEqual(tolerance);
    }
  });
}

/** The trace's expected engine results (test/fixtures/traces/NAME.expected.json) within the tolerances its README gives. */
function matchesExpectedResults(printed: unknown, expectedFile: string, dir: string): void {
  const result = z.object({ holds: printedHoldsSchema, warnings: printedWarningsSchema }).parse(printed);
  const expected = expectedResults(expectedFile, dir);
  closeToExpected(result.holds, expected.holds);
  closeToExpected(result.warnings, expected.warnings);
}

const CALIBRATION_DEMO_DIR = '/tmp/knotmeter-calibration-demo';
let calibrationDemoDirExisted = true;

export const SCENARIOS: readonly Scenario[] = [
  {
    title: 'first start of a fresh clone: builds the dashboard, serves a simulated massager, records into data/knotmeter.db',
    copy: 'fresh',
    steps: [
      {
        kind: 'server',
        command: 'npm install && npm start',
        runs: { part: 'npm start', because: "npm install is what the copy's node_modules, linked to the checkout's installed packages, stands for" },
        url: KNOTMETER_URL,
        startsWithinMs: 120_000,
        async whileRunning(server) {
          expect(existsSync(join(server.dir, 'dashboard/dist/index.html')), 'the first start builds the dashboard').toBe(true);
          await servesDashboard(server.url);
          await withLiveStream(server.url, async (live) => {
            const [device] = await streamsFrom(live, ['sim']);
            await recordsSessionOf(live, server.url, device?.deviceId ?? '', 'data/knotmeter.db', 60_000);
            expect(existsSync(join(server.dir, 'data/knotmeter.db'))).toBe(true);
          });
        },
      },
    ],
  },
  {
    title: 'npm start serves the dashboard with one simulated massager and records into data/knotmeter.db',
    copy: 'built',
    steps: [
      {
        kind: 'server',
        command: 'npm start',
        url: KNOTMETER_URL,
        async whileRunning(server) {
          await servesDashboard(server.url);
          await withLiveStream(server.url, async (live) => {
            await streamsFrom(live, ['sim']);
            await until(() => live.recorder?.state === 'recording', 'the recorder to record', 20_000);
            expect(live.recorder?.database).toMatch(/(^|\/)data\/knotmeter\.db$/);
          });
        },
      },
    ],
  },
  {
    title: '--help lists the flags and device specs',
    copy: 'built',
    steps: [
      {
        kind: 'prints',
        command: 'npm start -- --help',
        finishesWithinMs: 60_000,
        check({ stdout }) {
          for (const flag of ['--host', '--port', '--device', '--preset', '--config', '--db', '--data-dir', '--speed']) expect(stdout).toContain(flag);
          for (const kind of ['sim', 'serial', 'firmata', 'emulator', 'replay']) expect(stdout).toContain(kind);
        },
      },
    ],
  },
  {
    title: '--preset neck --port 0: neck thresholds on any free port',
    copy: 'built',
    steps: [
      {
        kind: 'server',
        command: 'npm start -- --preset neck --port 0',
        async whileRunning(server) {
          expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
          expect(server.url).not.toBe('http://127.0.0.1:0');
          await withLiveStream(server.url, async (live) => {
            const [device] = await streamsFrom(live, ['sim']);
            expect(device?.preset).toBe('neck');
            expect(device?.engineConfig).toMatchObject({ bandLowN: 8, bandHighN: 18, overLimitN: 25 });
          });
        },
      },
    ],
  },
  {
    title: 'two simulated massagers, two panels',
    copy: 'built',
    steps: [
      simulatorServer('npm start -- --device sim --device sim:kneading', ['sim', 'sim'], (live) => {
        expect(live.devices.map((device) => device.spec.split('?')[0])).toEqual(['sim:treatment', 'sim:kneading']);
        expect(new Set(live.devices.map((device) => device.deviceId)).size).toBe(2);
      }),
    ],
  },
  {
    title: 'a kneading massager at 1 kHz losing 1 % of its samples beside a treatment',
    copy: 'built',
    steps: [
      simulatorServer("npm start -- --device sim --device 'sim:kneading?rate=1000&loss=0.01'", ['sim', 'sim'], async (live) => {
        const kneading = live.devices[1]?.deviceId ?? '';
        const status = await live.waitForStatus(kneading, 'the kneading device to report lost samples', (s) => s.nominalRateHz === 1000 && s.lostSamples > 0, 30_000);
        expect(status.measuredRateHz).toBeGreaterThan(900);
        const times = live.samples.get(kneading)?.tMs ?? [];
        const steps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
        expect(steps.filter((step) => Math.abs(step - 1) < 0.01).length / steps.length).toBeGreaterThan(0.9);
      }),
    ],
  },
  {
    title: 'sim:over-pressure pushes past the limit: a warning reaches every client',
    copy: 'built',
    steps: [simulatorServer('npm start -- --device sim:over-pressure', ['sim'], warnsOverPressure)],
  },
  {
    title: 'a load-cell massager pushing too hard, seeded',
    copy: 'built',
    steps: [
      simulatorServer("npm start -- --device 'sim:over-pressure?sensor=hx711&seed=7'", ['sim'], async (live) => {
        expect(live.devices[0]?.sensor).toBe('hx711');
        expect(live.devices[0]?.spec).toContain('seed=7');
        await warnsOverPressure(live);
      }),
    ],
  },
  {
    title: 'sim:weights with gain=1.2 is uncalibrated, a device to practise calibrating on',
    copy: 'built',
    steps: [
      simulatorServer("npm start -- --device 'sim:weights?gain=1.2'", ['sim'], (live) => {
        expect(live.devices[0]?.calibration).toBe('default');
      }),
    ],
  },
  {
    title: 'a CSV trace replayed ten times faster is recorded as a new session, and the device stops at its end',
    copy: 'built',
    steps: [
      {
        kind: 'server',
        command: 'npm start -- --device replay:test/fixtures/traces/example_overpressure.csv --speed 10',
        url: KNOTMETER_URL,
        whileRunning: (server) =>
          withLiveStream(server.url, async (live) => {
            const [device] = await live.waitForDevices(1);
            expect(device?.transport).toBe('replay');
            const deviceId = device?.deviceId ?? '';
            await live.waitForStatus(deviceId, 'the replay to stop at the end of its data', (status) => status.state === 'stopped', 30_000);
            const session = await eventually(
              async () => (await getJson(`${server.url}/api/sessions`, sessionPageSchema)).sessions.find((s) => s.deviceId === deviceId && s.status !== 'recording'),
              'the replayed session to be recorded and complete',
              10_000,
            );
            expect(session).toMatchObject({ transport: 'replay', status: 'complete', holdCount: 1, warningCount: 1 });
            expect(session.durationMs).toBe(18_390);
          }),
      },
    ],
  },
  {
    title: 'demo history, and the server on it for the review pages',
    copy: 'built',
    steps: [
      {
        kind: 'prints',
        command: 'npm run demo-history',
        finishesWithinMs: 90_000,
        check({ stdout }, { dir }) {
          expect(stdout).toMatch(/Wrote 24 simulated treatments over 8 weeks into \S*data\/demo\.db/);
          expect(existsSync(join(dir, 'data/demo.db'))).toBe(true);
        },
      },
      {
        kind: 'server',
        command: 'npm start -- --db data/demo.db',
        url: KNOTMETER_URL,
        async whileRunning(server) {
          const page = await getJson(`${server.url}/api/sessions?limit=200`, sessionPageSchema);
          expect(page.total).toBeGreaterThanOrEqual(24);
          expect(page.sessions.filter((session) => session.spec.startsWith('sim:treatment')).length).toBeGreaterThanOrEqual(24);
          await servesDashboard(server.url);
        },
      },
      {
        kind: 'prints',
        command: "curl -s 'http://127.0.0.1:8080/api/sessions?bodyArea=neck&limit=5'",
        finishesWithinMs: 15_000,
        check({ stdout }) {
          const page = sessionPageSchema.parse(JSON.parse(stdout));
          // Eight weeks of Monday neck treatments; the live simulated massager's session has no label.
          expect(page).toMatchObject({ total: 8, limit: 5, offset: 0 });
          expect(page.sessions).toHaveLength(5);
          for (const session of page.sessions) expect(session.bodyAreas).toContain('neck');
          const started = page.sessions.map((session) => session.startedAt);
          expect(started, 'newest first').toEqual([...started].sort().reverse());
        },
      },
      {
        kind: 'prints',
        command: "curl -s 'http://127.0.0.1:8080/api/sessions/1/samples?fromMs=60000&toMs=90000&maxPoints=500'",
        finishesWithinMs: 15_000,
        check({ stdout }) {
          const samples = sampleEnvelopeSchema.parse(JSON.parse(stdout));
          expect(samples).toMatchObject({ fromMs: 60_000, toMs: 90_000, exact: false });
          expect(samples.tMs.length).toBeGreaterThan(100);
          expect(samples.tMs.length).toBeLessThanOrEqual(500);
          for (const t of samples.tMs) expect(t).toSatisfy((ms: number) => ms >= 60_000 && ms <= 90_000);
          samples.minN.forEach((low, i) => expect(low).toBeLessThanOrEqual(samples.maxN[i] ?? -Infinity));
        },
      },
      {
        kind: 'prints',
        command: `curl -s -X PATCH -H 'content-type: application/json' -d '{"knot": "left C6"}' http://127.0.0.1:8080/api/sessions/1/holds/1`,
        finishesWithinMs: 15_000,
        async check({ stdout }, { serverUrl }) {
          expect(recordedHoldSchema.parse(JSON.parse(stdout))).toMatchObject({ number: 1, bodyArea: 'neck', knot: 'left C6' });
          const session = await getJson(`${serverUrl ?? ''}/api/sessions/1`, sessionDetailSchema);
          expect(session.holds[0]).toMatchObject({ number: 1, bodyArea: 'neck', knot: 'left C6' });
        },
      },
      {
        kind: 'server',
        command: 'npm start -- --db data/demo.db --device replay:1 --preset neck --speed max',
        url: KNOTMETER_URL,
        whileRunning: (server) =>
          withLiveStream(server.url, async (live) => {
            const [device] = await live.waitForDevices(1);
            expect(device).toMatchObject({ transport: 'replay', preset: 'neck' });
            const deviceId = device?.deviceId ?? '';
            await live.waitForStatus(deviceId, 'the replay to stop at the end of the recorded session', (status) => status.state === 'stopped', 60_000);
            const original = await getJson(`${server.url}/api/sessions/1`, sessionDetailSchema);
            const replayed = await eventually(
              async () => (await getJson(`${server.url}/api/sessions?limit=200`, sessionPageSchema)).sessions.find((s) => s.deviceId === deviceId && s.transport === 'replay' && s.status === 'complete'),
              'the replayed session to be recorded and complete',
              20_000,
            );
            expect(replayed.id).not.toBe(1);
            const again = await getJson(`${server.url}/api/sessions/${replayed.id}`, sessionDetailSchema);
            // The same samples through the same engine: the same holds (forces to 1 mN), recorded anew.
            const figures = ({ number, startMs, endMs, durationMs, meanN, peakN, timeInBandMs, timeOverMs }: RecordedHold): Partial<RecordedHold> => ({ number, startMs, endMs, durationMs, meanN, peakN, timeInBandMs, timeOverMs });
            expect(original.holds.length).toBeGreaterThan(0);
            expect(again.holds.map(figures)).toEqual(original.holds.map(figures));
            expect(again.warnings).toEqual(original.warnings);
          }),
      },
    ],
  },
  {
    title: '--db in a folder that does not exist yet: the folder and file are made, and a session is recorded in it',
    copy: 'built',
    steps: [
      {
        kind: 'server',
        command: 'npm start -- --db data/clinic/2026.db',
        url: KNOTMETER_URL,
        whileRunning: (server) =>
          withLiveStream(server.url, async (live) => {
            expect(existsSync(join(server.dir, 'data/clinic')), 'the folder data/clinic is made').toBe(true);
            const [device] = await streamsFrom(live, ['sim']);
            await recordsSessionOf(live, server.url, device?.deviceId ?? '', 'data/clinic/2026.db', 60_000);
            expect(existsSync(join(server.dir, 'data/clinic/2026.db'))).toBe(true);
            expect(existsSync(join(server.dir, 'data/knotmeter.db')), 'the default file is not made').toBe(false);
          }),
      },
    ],
  },
  {
    title: 'our firmware (load-cell build) in the emulator, pushed past the limit',
    copy: 'built',
    steps: [
      {
        ...simulatorServer("npm start -- --device 'emulator:hx711?scenario=over-pressure&seed=3'", ['emulator'], async (live) => {
          const device = live.devices[0];
          expect(device?.sensor).toBe('hx711');
          const status = await live.waitForStatus(device?.deviceId ?? '', 'the firmware to say hello', (s) => s.state === 'connected' && s.firmware !== '');
          expect(status.clock).toBe('device');
          expect(device?.spec).toContain('scenario=over-pressure');
        }),
        startsWithinMs: 120_000,
      },
    ],
  },
  {
    title: 'our firmware in the emulator, no board on the desk',
    copy: 'built',
    steps: [
      {
        ...simulatorServer('npm start -- --device emulator', ['emulator'], async (live) => {
          const device = live.devices[0];
          expect(device?.sensor).toBe('fsr');
          await live.waitForStatus(device?.deviceId ?? '', 'the firmware to say hello', (s) => s.state === 'connected' && s.firmware !== '' && s.clock === 'device');
        }),
        startsWithinMs: 120_000,
      },
    ],
  },
  {
    title: 'StandardFirmata in the emulator, read through johnny-five',
    copy: 'built',
    steps: [
      {
        ...simulatorServer("npm start -- --device 'firmata:emulator?scenario=over-pressure'", ['firmata'], async (live) => {
          const device = live.devices[0];
          await live.waitForStatus(device?.deviceId ?? '', 'the Firmata board to connect', (s) => s.state === 'connected' && s.clock === 'host', 30_000);
          expect(device?.spec).toContain('scenario=over-pressure');
        }),
        startsWithinMs: 60_000,
      },
    ],
  },
  {
    title: 'analyze prints, as JSON, the holds and warnings the engine finds in a trace',
    copy: 'built',
    steps: [
      {
        kind: 'prints',
        command: 'npm run analyze -- --preset shoulders test/fixtures/traces/example_overpressure.csv',
        finishesWithinMs: 60_000,
        check: ({ stdout }, { dir }) => matchesExpectedResults(printedJson(stdout), 'test/fixtures/traces/example_overpressure.expected.json', dir),
      },
    ],
  },
  {
    title: 'analyze --ppt prints the PPT trials of the example, three valid and one too fast, and their summary',
    copy: 'built',
    steps: [
      {
        kind: 'prints',
        command: 'npm run analyze -- --ppt test/fixtures/traces/ppt_three_trials.csv',
        finishesWithinMs: 60_000,
        check({ stdout }) {
          const analysis = pptAnalysisSchema.parse(printedJson(stdout));
          expect(analysis.trials.map((trial) => trial.reason)).toEqual([null, 'rate-off-target', null, null]);
          expect(analysis.summary.n).toBe(3);
        },
      },
    ],
  },
  {
    title: 'analyze with a --config file finds the hold through its dip',
    copy: 'built',
    steps: [
      {
        kind: 'prints',
        command: 'npm run analyze -- --config test/fixtures/traces/config.json test/fixtures/traces/example_hold_with_dip.csv',
        finishesWithinMs: 60_000,
        check: ({ stdout }, { dir }) => matchesExpectedResults(printedJson(stdout), 'test/fixtures/traces/example_hold_with_dip.expected.json', dir),
      },
    ],
  },
  {
    title: 'analyze --format table prints the holds and warnings as tables',
    copy: 'built',
    steps: [
      {
        kind: 'prints',
        command: 'npm run analyze -- --preset neck --format table test/fixtures/traces/example_overpressure.csv',
        finishesWithinMs: 60_000,
        check({ stdout }) {
          const table = withoutNpmBanner(stdout);
          expect(table).toMatch(/^Holds: 1$/m);
          expect(table).toMatch(/^Over-pressure warnings: 1$/m);
          expect(table).toMatch(/peak N/);
        },
      },
    ],
  },
  {
    title: 'analyze -s piped into jq: jq prints the holds array the engine found',
    copy: 'built',
    steps: [
      {
        kind: 'prints',
        command: 'npm run -s analyze -- test/fixtures/traces/example_overpressure.csv | jq .holds',
        finishesWithinMs: 60_000,
        check({ stdout }, { dir }) {
          // -s keeps npm's banner out, so what jq read was JSON and what it prints is JSON too.
          const holds = printedHoldsSchema.parse(JSON.parse(stdout));
          closeToExpected(holds, expectedResults('test/fixtures/traces/example_overpressure.expected.json', dir).holds);
        },
      },
    ],
  },
  {
    title: 'ports --json piped into jq: jq prints the ports array (empty here, with no USB serial device)',
    copy: 'built',
    steps: [
      {
        kind: 'prints',
        command: 'npm run -s ports -- --json | jq .ports',
        finishesWithinMs: 60_000,
        check({ stdout }) {
          const ports = z.array(z.looseObject({ path: z.string() })).parse(JSON.parse(stdout));
          for (const port of ports) expect(port.path).toMatch(/^(\/dev\/|COM\d)/);
        },
      },
    ],
  },
  {
    title: 'ports lists the serial ports (none here) and says how to find a massager',
    copy: 'built',
    steps: [
      {
        kind: 'prints',
        command: 'npm run ports',
        finishesWithinMs: 60_000,
        check({ stdout }) {
          // Here, with no USB serial device: it says so and how to go on; elsewhere it lists them.
          expect(withoutNpmBanner(stdout)).toMatch(/No serial ports found\. Plug the massager in|\/dev\/|COM\d/);
        },
      },
    ],
  },
  {
    title: 'ports --help names its flags',
    copy: 'built',
    steps: [
      {
        kind: 'prints',
        command: 'npm run ports -- --help',
        finishesWithinMs: 60_000,
        check({ stdout }) {
          expect(stdout).toContain('--json');
          expect(stdout).toContain('--all');
        },
      },
    ],
  },
  {
    title: 'flash --help names its flags and boards',
    copy: 'fresh',
    steps: [
      {
        kind: 'prints',
        command: 'npm run flash -- --help',
        finishesWithinMs: 60_000,
        check({ stdout }) {
          expect(stdout).toContain('--port PATH');
          expect(stdout).toContain('nano-old');
        },
      },
    ],
  },
  {
    title: 'doctor checks this machine in order, each line ok, warn or FAIL',
    copy: 'fresh',
    steps: [
      {
        kind: 'prints',
        command: 'npm run doctor',
        finishesWithinMs: 120_000,
        check({ stdout }) {
          const lines = withoutNpmBanner(stdout).trim().split('\n');
          expect(lines[0]).toMatch(/^ok {4}Node \d+\.\d+\.\d+/);
          expect(lines.filter((line) => /^(ok|warn|FAIL) /.test(line)).length).toBeGreaterThanOrEqual(9);
          // a fresh copy has no data/ yet: the doctor says it will be made
          expect(stdout).toMatch(/ok {4}data directory \S+\/data: not made yet; it will be/);
          expect(lines.at(-1)).toBe('Everything checks out.');
        },
      },
    ],
  },
  {
    title: 'pair: list with nobody paired, then a new operator link written for the server to accept',
    copy: 'built',
    steps: [
      {
        kind: 'prints',
        command: 'npm run pair -- list',
        finishesWithinMs: 60_000,
        check({ stdout }) {
          expect(stdout).toMatch(/No paired devices \(\S*data\/pairing\.json\)\./);
        },
      },
      {
        kind: 'prints',
        command: 'npm run pair -- new --role operator --url http://192.168.1.20:8080',
        finishesWithinMs: 60_000,
        check({ stdout }, { dir }) {
          expect(stdout).toMatch(/Pairing link for an operator .*\n {2}http:\/\/192\.168\.1\.20:8080\/pair\?code=[A-Z2-9]+\n/);
          // The code's hash is in the data folder's pairing.json, for a running server to accept.
          const file = z.object({ pendingCodes: z.array(z.object({ role: z.literal('operator') }).loose()).length(1) }).loose();
          expect(() => file.parse(JSON.parse(readFileSync(join(dir, 'data/pairing.json'), 'utf8')))).not.toThrow();
        },
      },
    ],
  },
  {
    title: 'firmware builds both hex files and prints their flash and RAM use',
    copy: 'built',
    steps: [
      {
        kind: 'prints',
        command: 'npm run firmware',
        finishesWithinMs: 120_000,
        check({ stdout }, { dir }) {
          for (const sensor of ['fsr', 'hx711']) expect(existsSync(join(dir, `device/firmware/build/knotmeter-${sensor}.hex`)), sensor).toBe(true);
          expect(stdout).toMatch(/flash/i);
          expect(stdout).toMatch(/RAM/);
        },
      },
    ],
  },
  {
    title: 'the calibration wizard fed by a script saves a profile',
    copy: 'built',
    steps: [
      {
        kind: 'prints',
        command: "printf '\\n5 N\\n10 N\\n20 N\\n40 N\\n\\ny\\n' | npm run calibrate -- --device 'sim:weights?loads=5,10,20,40&gain=1.2' --data-dir /tmp/knotmeter-calibration-demo",
        finishesWithinMs: 120_000,
        check({ stdout }) {
          const saved = /Saved to (\S+\/calibration\/([0-9a-f]{8})\.json)/.exec(stdout);
          expect(saved, stdout.slice(-1500)).not.toBeNull();
          expect(saved?.[1]?.startsWith(`${CALIBRATION_DEMO_DIR}/calibration/`)).toBe(true);
          expect(JSON.parse(readFileSync(saved?.[1] ?? '', 'utf8'))).toBeTypeOf('object');
        },
        cleanUp() {
          if (!calibrationDemoDirExisted) rmSync(CALIBRATION_DEMO_DIR, { recursive: true, force: true });
        },
      },
    ],
  },
  {
    title: 'calibration without the wizard: fit, then convert, print what the docs show',
    copy: 'built',
    steps: [
      {
        kind: 'prints',
        command: 'npm run calibrate -- fit --device-id 1a2b3c4d --sensor fsr --point 171:5 --point 293:10 --point 455:20 --point 630:40',
        finishesWithinMs: 60_000,
        check(_exit, { dir }) {
          expect(existsSync(join(dir, 'data/calibration/1a2b3c4d.json'))).toBe(true);
        },
      },
      {
        kind: 'prints',
        command: 'npm run calibrate -- convert --device-id 1a2b3c4d 0 250 512',
        finishesWithinMs: 60_000,
        check({ stdout }) {
          expect(z.array(z.number()).length(3).safeParse(printedJson(stdout)).success).toBe(true);
        },
      },
    ],
  },
  {
    title: 'npm run lists the scripts',
    copy: 'built',
    steps: [
      {
        kind: 'prints',
        command: 'npm run',
        finishesWithinMs: 30_000,
        check({ stdout }) {
          for (const script of ['start', 'analyze', 'calibrate', 'demo-history', 'ports', 'firmware', 'build']) expect(stdout).toMatch(new RegExp(`^  ${script}$`, 'm'));
        },
      },
    ],
  },
  {
    title: 'the dashboard dev server with hot reload',
    copy: 'built',
    steps: [
      {
        kind: 'server',
        command: 'npm run dev:dashboard',
        ctrlC: { endsBy: 'SIGINT', because: "Vite's dev server has no SIGINT handler of its own (it has nothing to save): Ctrl-C ends it by the signal, as a terminal expects" },
        // eslint-disable-next-line no-control-regex
        announces: /Local:\s+(?:\x1b\[[\d;]*m)*(http:\/\/\S+?)(?:\x1b\[[\d;]*m)*\/?\s/,
        async whileRunning(server) {
          const page = await fetch(server.url.replace('localhost', '127.0.0.1'));
          expect(page.status).toBe(200);
          expect(await page.text()).toContain('<script');
        },
      },
    ],
  },
];

/** Notes, before the scenario runs, whether the calibration demo folder was there already (to remove only what the test made). */
export function noteCalibrationDemoDir(): void {
  calibrationDemoDirExisted = existsSync(CALIBRATION_DEMO_DIR);
}

/** What is actually run for a step. */
export function commandRun(step: Step): string {
  return step.runs?.part ?? step.command;
}

/** True when a step listens on (or asks) the default port 8080 as typed. */
export function usesPort8080(step: Step): boolean {
  const run = commandRun(step);
  if (/127\.0\.0\.1:8080|localhost:8080/.test(run)) return true;
  return step.kind === 'server' && /^npm start\b/.test(run) && !/--port\b/.test(run);
}

export function scenarioUsesPort8080(scenario: Scenario): boolean {
  return scenario.steps.some(usesPort8080);
}
