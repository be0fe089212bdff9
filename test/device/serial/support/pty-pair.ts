/**
 * A real pseudo-terminal pair from Debian `socat`: two ptys joined back to back, reachable
 * through stable symlinks (`socat ... link=PATH`) so that a test can "unplug" the pair
 * (stop socat: both ends get a hangup) and "replug" it (a new socat on the same paths).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const SOCAT = '/usr/bin/socat';

export class PtyPair {
  /** The end the fake device opens. */
  readonly devicePath: string;
  /** The end the host (the transport under test) opens. */
  readonly hostPath: string;
  readonly #socat: ChildProcess;
  readonly #exited: Promise<void>;

  private constructor(socat: ChildProcess, devicePath: string, hostPath: string) {
    this.#socat = socat;
    this.devicePath = devicePath;
    this.hostPath = hostPath;
    this.#exited = new Promise((resolve) => {
      if (socat.exitCode !== null || socat.signalCode !== null) resolve();
      else socat.once('exit', () => resolve());
    });
  }

  /** Starts socat with `<dir>/<name>-device` and `<dir>/<name>-host`; resolves once both links exist. */
  static async start(dir: string, name: string): Promise<PtyPair> {
    const devicePath = join(dir, `${name}-device`);
    const hostPath = join(dir, `${name}-host`);
    const socat = spawn(SOCAT, ['-d', '-d', `pty,raw,echo=0,link=${devicePath}`, `pty,raw,echo=0,link=${hostPath}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    socat.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    const pair = new PtyPair(socat, devicePath, hostPath);
    const deadline = Date.now() + 5000;
    while (!/starting data transfer loop/.test(stderr) || !existsSync(devicePath) || !existsSync(hostPath)) {
      if (socat.exitCode !== null) throw new Error(`socat exited with ${socat.exitCode}: ${stderr}`);
      if (Date.now() > deadline) {
        socat.kill('SIGKILL');
        throw new Error(`socat did not set up the pty pair within 5 s: ${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return pair;
  }

  /** Unplugs: stops socat; both ends see the other side gone. */
  async stop(): Promise<void> {
    if (this.#socat.exitCode === null && this.#socat.signalCode === null) this.#socat.kill('SIGTERM');
    await this.#exited;
  }
}
