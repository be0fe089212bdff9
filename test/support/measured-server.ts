// The real server in a child process whose memory a test can measure: run with
// `node --expose-gc --import tsx test/support/measured-server.ts '{"db": ..., "devices": [...]}'`
// and an IPC channel; it prints `Knotmeter dashboard: URL` once listening and answers each
// `measure` message with its memory after a full garbage collection.
import { pino } from 'pino';
import { startServer } from '../../server/app.ts';
import { presetConfig } from '../../server/engine/presets.ts';

export interface MeasuredMemory {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
}

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('measured-server needs node --expose-gc');
if (process.send === undefined) throw new Error('measured-server needs an IPC channel (spawn with stdio [..., "ipc"])');

const settings = JSON.parse(process.argv[2] ?? '{}') as { db?: string; devices?: string[] };
const server = await startServer({
  host: '127.0.0.1',
  port: 0,
  devices: settings.devices ?? ['sim:idle?rate=50'],
  seed: 99,
  engine: { preset: 'shoulders', config: presetConfig('shoulders') },
  logger: pino({ level: 'silent' }),
  ...(settings.db === undefined ? {} : { db: settings.db }),
});

process.on('message', (message: unknown) => {
  if (message !== 'measure') return;
  gc();
  gc();
  const memory = process.memoryUsage();
  const measured: MeasuredMemory = { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed };
  process.send?.(measured);
});
process.on('disconnect', () => {
  void server.close().then(() => process.exit(0));
});
process.stdout.write(`Knotmeter dashboard: ${server.url}\n`);
