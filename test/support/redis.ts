// A real Redis server for a test (Debian's redis-server, never the system service): on a free
// loopback port, in a temporary folder, persisting nothing, requiring a password as a clinic's
// must (`--bus` refuses an address without one); and a bus key file for `--bus-key`. `stop()` ends it as an outage
// would (SIGKILL: no goodbye to its clients); `start()` again brings it back on the same port,
// empty, as a restarted Redis without persistence is.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REDIS_SERVER = '/usr/bin/redis-server';

export interface TestRedis {
  /** e.g. `redis://:PASSWORD@127.0.0.1:41234` */
  readonly url: string;
  readonly port: number;
  readonly password: string;
  /** A bus key file (mode 600) for `--bus-key`: the same for every server of the test's clinic. */
  readonly keyFile: string;
  /** Whether it is running now. */
  readonly running: boolean;
  /** (Re)starts it on its port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Kills it at once (an outage); resolves once it has exited. */
  stop(): Promise<void>;
  /** Stops it and removes its folder (afterAll). */
  close(): Promise<void>;
}

/** A port free on loopback now (the kernel's pick, released at once for the server to take). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const address = probe.address();
  probe.close();
  if (address === null || typeof address === 'string') throw new Error('freePort: no port from the kernel');
  return address.port;
}

export async function startTestRedis(): Promise<TestRedis> {
  const folder = mkdtempSync(join(tmpdir(), 'knotmeter-redis-'));
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const keyFile = join(folder, 'bus.key');
  writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    if (child !== null) return;
    const started = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', folder, '--daemonize', 'no', '--requirepass', password], { cwd: folder, stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    let output = '';
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (/Ready to accept connections/.test(output)) resolve();
      };
      started.stdout.on('data', onData);
      started.stderr.on('data', onData);
      started.once('exit', (code) => reject(new Error(`redis-server on port ${port} exited (${code}) before it was ready: ${output.slice(-500)}`)));
    });
    started.once('exit', () => {
      if (child === started) child = null;
    });
    await ready;
  };

  const stop = async (): Promise<void> => {
    const running = child;
    if (running === null) return;
    const exited = once(running, 'exit');
    running.kill('SIGKILL');
    await exited;
    child = null;
  };

  await start();
  return {
    url: `redis://:${password}@127.0.0.1:${port}`,
    port,
    password,
    keyFile,
    get running() {
      return child !== null;
    },
    start,
    stop,
    close: async () => {
      await stop();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
