// A real PostgreSQL server for the tests, started by the tests themselves: initdb into a
// temporary folder, then pg_ctl on a free loopback port with its socket in that folder;
// never the system service. initdb refuses to run as root (CI runs as root): then every
// command runs as the `postgres` user Debian's package made.
//
//   const postgres = await startPostgres();
//   const url = await postgres.createDatabase('store');   // postgres://knotmeter@127.0.0.1:PORT/store
//   await postgres.stop(); await postgres.start();         // a database that goes away and comes back
//   await postgres.destroy();                              // in afterAll
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const BIN_DIR = '/usr/lib/postgresql/15/bin';
const SUPERUSER = 'knotmeter';

export interface TestPostgres {
  readonly port: number;
  /** The cluster's folder (its postmaster.pid names the server process). */
  readonly dataDir: string;
  /** postgres://knotmeter@127.0.0.1:PORT/NAME */
  urlOf(database: string): string;
  /** Creates an empty database; returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast: open connections are cut), keeping its data. */
  stop(): Promise<void>;
  /** Starts it again on the same port, with the same data. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  destroy(): Promise<void>;
}

/** The postgres user's uid and gid when this process is root (initdb refuses root), else null. */
function unprivilegedUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  try {
    return { uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })) };
  } catch {
    throw new Error('the tests run as root and there is no postgres user to run PostgreSQL as: install postgresql from Debian (test/system-deps.sh)');
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no free port on loopback');
  return address.port;
}

/** Runs one PostgreSQL program to its end, as the unprivileged user when root; throws with its output if it fails. */
async function run(program: string, args: readonly string[], user: { uid: number; gid: number } | null): Promise<void> {
  const path = join(BIN_DIR, program);
  if (!existsSync(path)) throw new Error(`${path} is missing: install postgresql 15 from Debian (test/system-deps.sh)`);
  const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(user === null ? {} : user) });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`${program} ${args.join(' ')} failed (exit ${String(code)}):\n${output}`);
}

/** `durable`: PostgreSQL's own settings (fsync on), for benchmarks; tests skip fsync. */
export async function startPostgres(settings: { readonly durable?: boolean } = {}): Promise<TestPostgres> {
  const user = unprivilegedUser();
  const dir = mkdtempSync(join(tmpdir(), 'knotmeter-pg-'));
  if (user !== null) chownSync(dir, user.uid, user.gid);
  chmodSync(dir, 0o700);
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  await run('initdb', ['-D', dataDir, '-U', SUPERUSER, '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], user);
  const port = await freePort();
  // fsync off: a test's data need not survive a power cut, and it keeps the 2 cores free.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1${settings.durable === true ? '' : ' -c fsync=off -c full_page_writes=off'}`;
  const pgCtl = (...args: string[]): Promise<void> => run('pg_ctl', ['-D', dataDir, ...args], user);
  const start = async (): Promise<void> => {
    try {
      await pgCtl('-o', options, '-l', logFile, '-w', '-t', '30', 'start');
    } catch (error) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '';
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${log}`, { cause: error });
    }
  };
  await start();
  const urlOf = (database: string): string => `postgres://${SUPERUSER}@127.0.0.1:${port}/${database}`;
  let running = true;
  return {
    port,
    dataDir,
    urlOf,
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: urlOf('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replaceAll('"', '')}"`);
      } finally {
        await client.end();
      }
      return urlOf(name);
    },
    async stop() {
      await pgCtl('-m', 'fast', '-w', 'stop');
      running = false;
    },
    async start() {
      await start();
      running = true;
    },
    async destroy() {
      try {
        if (running) await pgCtl('-m', 'immediate', '-w', 'stop');
      } finally {
        running = false;
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
