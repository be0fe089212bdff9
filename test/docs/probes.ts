/**
 * What the docs' examples are checked with, from the outside as any program would: a real
 * socket.io client on a running server's live stream, its review API over HTTP, and the
 * printed output of a command (npm's `> script` banner is what a user sees too, so it is
 * skipped, not asked away).
 */
import { io, type Socket } from 'socket.io-client';
import type { z } from 'zod';
import { serverEventSchemas, type ClientToServerEvents, type DeviceInfo, type DeviceStatus, type RecorderStatus, type ServerToClientEvents } from '../../server/contract/live-events.ts';
import { until } from '../support/until.ts';

type EngineEvent = z.infer<typeof serverEventSchemas.engine>['events'][number];

/** Everything a live-stream client has received, kept validated by the contract's schemas. */
export class LiveStream {
  readonly #client: Socket<ServerToClientEvents, ClientToServerEvents>;
  devices: DeviceInfo[] = [];
  readonly statuses = new Map<string, DeviceStatus>();
  readonly samples = new Map<string, { tMs: number[]; forceN: number[] }>();
  readonly engineEvents: { deviceId: string; event: EngineEvent }[] = [];
  recorder: RecorderStatus | null = null;

  constructor(url: string) {
    // As the docs' live-stream example connects: WebSocket first.
    this.#client = io(url, { transports: ['websocket', 'polling'], tryAllTransports: true, forceNew: true });
    this.#client.on('devices', (list) => (this.devices = serverEventSchemas.devices.parse(list)));
    this.#client.on('status', (status) => {
      const parsed = serverEventSchemas.status.parse(status);
      this.statuses.set(parsed.deviceId, parsed);
    });
    this.#client.on('readings', (batches) => {
      for (const batch of serverEventSchemas.readings.parse(batches)) {
        const kept = this.samples.get(batch.deviceId) ?? { tMs: [], forceN: [] };
        kept.tMs.push(...batch.tMs);
        kept.forceN.push(...batch.forceN);
        this.samples.set(batch.deviceId, kept);
      }
    });
    this.#client.on('engine', (message) => {
      const parsed = serverEventSchemas.engine.parse(message);
      for (const event of parsed.events) this.engineEvents.push({ deviceId: parsed.deviceId, event });
    });
    this.#client.on('recorder', (status) => (this.recorder = serverEventSchemas.recorder.parse(status)));
  }

  sampleCount(deviceId: string): number {
    return this.samples.get(deviceId)?.tMs.length ?? 0;
  }

  /** Waits until the server has listed `count` devices. */
  async waitForDevices(count: number, limitMs = 20_000): Promise<DeviceInfo[]> {
    await until(() => this.devices.length === count, `${count} device(s) on the live stream (got ${this.devices.length})`, limitMs);
    return this.devices;
  }

  /** Waits until every listed device has sent at least `count` readings. */
  async waitForReadings(count: number, limitMs = 20_000): Promise<void> {
    await until(() => this.devices.length > 0 && this.devices.every((device) => this.sampleCount(device.deviceId) >= count), `${count} readings from every device`, limitMs);
  }

  /** Waits for an engine event of this type from this device (e.g. `over.started`). */
  async waitForEngineEvent(deviceId: string, type: EngineEvent['type'], limitMs: number): Promise<EngineEvent> {
    const find = (): EngineEvent | undefined => this.engineEvents.find((entry) => entry.deviceId === deviceId && entry.event.type === type)?.event;
    await until(() => find() !== undefined, `a ${type} event from ${deviceId}`, limitMs);
    const event = find();
    if (event === undefined) throw new Error(`no ${type} event`);
    return event;
  }

  async waitForStatus(deviceId: string, what: string, test: (status: DeviceStatus) => boolean, limitMs = 20_000): Promise<DeviceStatus> {
    await until(() => {
      const status = this.statuses.get(deviceId);
      return status !== undefined && test(status);
    }, `${what} (last status: ${JSON.stringify(this.statuses.get(deviceId) ?? null)})`, limitMs);
    const status = this.statuses.get(deviceId);
    if (status === undefined) throw new Error(`no status of ${deviceId}`);
    return status;
  }

  close(): void {
    this.#client.close();
  }
}

/** Polls an asynchronous probe until it gives a value (not undefined), within a bound. */
export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, limitMs: number): Promise<T> {
  const startedMs = performance.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() - startedMs > limitMs) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** GET a JSON answer of the review API, validated. */
export async function getJson<T>(url: string, schema: z.ZodType<T>): Promise<T> {
  const response = await fetch(url);
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}: ${text}`);
  return schema.parse(JSON.parse(text));
}

/** What a command printed, less npm's `> package@version script` banner and its command line. */
export function withoutNpmBanner(stdout: string): string {
  const lines = stdout.split('\n');
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (/^> \S+@\S+ \S+/.test(lines[i] ?? '') && (lines[i + 1] ?? '').startsWith('> ')) {
      i += 1;
      if ((lines[i + 1] ?? '') === '') i += 1;
      continue;
    }
    kept.push(lines[i] ?? '');
  }
  return kept.join('\n').replace(/^\n+/, '');
}

/** The JSON a command printed (after npm's banner). */
export function printedJson(stdout: string): unknown {
  const text = withoutNpmBanner(stdout).trim();
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`expected JSON on stdout, got: ${text.slice(0, 500)} (${(error as Error).message})`, { cause: error });
  }
}

/** ISO 8601 times vary from run to run; documented output shows one as an example. */
function normalisedLine(line: string): string {
  return line.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>').trimEnd();
}

/**
 * Checks the output the docs show after a `$ ` command against what it printed: every
 * documented line in order, each the whole of a printed line, `...` standing for any
 * number of lines (without one, nothing may come between). Returns what differs, or null.
 */
export function documentedOutputMismatch(documented: readonly string[], stdout: string): string | null {
  const printed = withoutNpmBanner(stdout).split('\n').map(normalisedLine);
  while (printed.at(-1) === '') printed.pop();
  let at = 0;
  let elided = false;
  for (const line of documented.map(normalisedLine)) {
    if (line.trim() === '...' || line.trim() === '…') {
      elided = true;
      continue;
    }
    const found = elided ? printed.indexOf(line, at) : printed[at] === line ? at : -1;
    if (found < 0) return `the docs show the line ${JSON.stringify(line)}${elided ? '' : ` at line ${at + 1}`}, which it did not print; it printed:\n${printed.join('\n')}`;
    at = found + 1;
    elided = false;
  }
  if (!elided && at < printed.length) return `it printed more than the docs show (no "..." at the end): ${JSON.stringify(printed.slice(at, at + 3))}`;
  return null;
}
