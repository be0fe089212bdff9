/**
 * A network of its own for one scenario: a Linux network namespace with nothing but its
 * loopback. A documented command that listens on 127.0.0.1:8080 as typed gets a port 8080
 * nobody else holds, so the port-8080 scenarios run side by side instead of one after
 * another (and a port 8080 held elsewhere on this machine no longer matters). The command
 * line itself is unchanged: it is the same `bash -c LINE`, only started by `unshare -n`.
 *
 * The checks, in the test process outside, reach the server through a bridge: socat inside
 * the namespace (nsenter) joins a Unix socket to the server's port there, and a TCP port
 * of the test's own, here, to that socket; `reach` gives the URL to use in place of the
 * printed one. The bridge is the test's, not part of the job: Ctrl-C still goes to the
 * job's process group alone. A command that asks the server (curl 127.0.0.1:8080) runs
 * inside the namespace too (`inside`).
 *
 *   const network = new OwnNetwork();
 *   const job = TypedCommand.start(network.serve('npm start'), { cwd });
 *   const url = await network.reach(job.pgid, 'http://127.0.0.1:8080'); // http://127.0.0.1:41234
 *   TypedCommand.start(network.inside("curl -s 'http://127.0.0.1:8080/api/sessions'", job.pgid), { cwd });
 *   network.close();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '../support/until.ts';

/** A word for bash, quoted so that it stays one word whatever it holds. */
function shellWord(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** As root a plain network namespace; otherwise inside a user namespace of one's own, where one may make it. */
const AS_ROOT = process.getuid?.() === 0;
const UNSHARE = AS_ROOT ? 'unshare --net' : 'unshare --map-root-user --net';
const NSENTER = AS_ROOT ? 'nsenter --net' : 'nsenter --user --net --preserve-credentials';

export class OwnNetwork {
  readonly #folder = mkdtempSync(join(tmpdir(), 'knotmeter-net-'));
  #bridges: { socat: ChildProcess; server: Server }[] = [];
  #made = 0;

  /** The line that runs `line` in a new network namespace, its loopback up. */
  serve(line: string): string {
    const script = 'ip link set lo up || exit 1; exec bash -c "$1"';
    return `exec ${UNSHARE} bash -c ${shellWord(script)} own-network ${shellWord(line)}`;
  }

  /** The line that runs `line` in the network namespace of process `pid` (a server's job). */
  inside(line: string, pid: number): string {
    return `exec ${NSENTER} --target ${pid} bash -c ${shellWord(line)}`;
  }

  /** A URL on this side that reaches `printedUrl` as it is inside the namespace of process `pid`. */
  async reach(pid: number, printedUrl: string): Promise<string> {
    const url = new URL(printedUrl);
    const socketPath = join(this.#folder, `bridge-${this.#made++}.sock`);
    const socat = spawn('nsenter', [...NSENTER.split(' ').slice(1), '--target', String(pid), 'socat', `UNIX-LISTEN:${socketPath},fork`, `TCP:${url.hostname}:${url.port || '80'}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let socatError = '';
    socat.stderr.on('data', (chunk: Buffer) => (socatError += chunk.toString()));
    const server = createServer((client) => {
      const inner = connect(socketPath);
      client.pipe(inner).pipe(client);
      inner.on('error', () => client.destroy());
      client.on('error', () => inner.destroy());
    });
    this.#bridges.push({ socat, server });
    // Listening once a connection to the socket goes through (the file appears just before).
    const bridge = { listening: false };
    const probe = (): void => {
      const attempt = connect(socketPath, () => ((bridge.listening = true), attempt.end()));
      attempt.on('error', () => attempt.destroy());
    };
    await until(() => {
      if (!bridge.listening && existsSync(socketPath)) probe();
      return bridge.listening || socat.exitCode !== null;
    }, `the bridge into the server's network (${socketPath})`, 10_000);
    if (!bridge.listening) throw new Error(`socat could not bridge into the network of process ${pid} (it exited ${socat.exitCode ?? '?'}): ${socatError}`);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url.port = String((server.address() as AddressInfo).port);
    return url.origin;
  }

  /** Takes every bridge down (the server they lead to has stopped, or the scenario is over). */
  closeBridges(): void {
    for (const { socat, server } of this.#bridges) {
      socat.kill('SIGTERM');
      server.close();
    }
    this.#bridges = [];
  }

  close(): void {
    this.closeBridges();
    rmSync(this.#folder, { recursive: true, force: true });
  }
}
