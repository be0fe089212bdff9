/**
 * Runs a command line as a user types it into a terminal: `bash -c LINE` in a folder, in a
 * process group of its own (as a shell's job is), with the user's environment (not the
 * test runner's), and stops it as Ctrl-C does: one SIGINT to the whole group.
 *
 *   const job = TypedCommand.start('npm start', { cwd: copy.dir });
 *   await job.waitForOutput(/Knotmeter dashboard: (\S+)/, 60_000);
 *   const { code } = await job.interrupt(15_000);
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { until } from './until.ts';

export interface JobExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment of a shell, without what vitest and `npm test` add (npm_*, VITEST*, their PATH entries). */
export function userEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|VITEST|TINYPOOL)/i.test(key) || ['NODE_ENV', 'TEST', 'INIT_CWD', 'FORCE_COLOR', 'NODE_OPTIONS'].includes(key)) continue;
    env[key] = value;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(':')
    .filter((entry) => !entry.includes('node_modules/.bin') && !entry.includes('npm-lifecycle') && !entry.includes('node-gyp-bin'))
    .join(':');
  return env;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

const running = new Set<TypedCommand>();

/** Text without ANSI colour and style sequences (ESC [ ... m). */
function withoutColours(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[\d;]*m/g, '');
}

export class TypedCommand {
  readonly line: string;
  readonly #child: ChildProcess;
  readonly #exit: Promise<JobExit>;
  #stdout = '';
  #stderr = '';
  #exited: JobExit | null = null;

  private constructor(line: string, cwd: string, stdin: string | null) {
    this.line = line;
    this.#child = spawn('bash', ['-c', line], { cwd, detached: true, env: userEnvironment(), stdio: [stdin === null ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    this.#child.stdout?.on('data', (chunk: Buffer) => (this.#stdout += chunk.toString()));
    this.#child.stderr?.on('data', (chunk: Buffer) => (this.#stderr += chunk.toString()));
    if (stdin !== null) this.#child.stdin?.end(stdin);
    this.#exit = new Promise((resolve, reject) => {
      this.#child.on('error', reject);
      this.#child.on('close', (code, signal) => {
        this.#exited = { code, signal, stdout: this.#stdout, stderr: this.#stderr };
        resolve(this.#exited);
      });
    });
    running.add(this);
    void this.#exit.finally(() => running.delete(this));
  }

  static start(line: string, options: { cwd: string; stdin?: string }): TypedCommand {
    return new TypedCommand(line, options.cwd, options.stdin ?? null);
  }

  get stdout(): string {
    return this.#stdout;
  }

  get stderr(): string {
    return this.#stderr;
  }

  get pgid(): number {
    return this.#child.pid ?? -1;
  }

  get hasExited(): boolean {
    return this.#exited !== null;
  }

  /**
   * The first match of `pattern` in stdout, read without its colours (tools colour their
   * output where CI is set, even into a pipe); fails if the job exits first or the time runs out.
   */
  async waitForOutput(pattern: RegExp, limitMs: number): Promise<RegExpExecArray> {
    await until(() => pattern.test(withoutColours(this.#stdout)) || this.hasExited, `\`${this.line}\` to print ${pattern}`, limitMs).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; it printed:\n${this.transcript()}`);
    });
    const match = pattern.exec(withoutColours(this.#stdout));
    if (match === null) throw new Error(`\`${this.line}\` exited (${this.#exited?.code ?? '?'}) before printing ${pattern}; it printed:\n${this.transcript()}`);
    return match;
  }

  /** Waits for it to end by itself. */
  async finished(limitMs: number): Promise<JobExit> {
    await until(() => this.hasExited, `\`${this.line}\` to finish`, limitMs).catch((error: unknown) => {
      this.kill();
      throw new Error(`${(error as Error).message}; it printed:\n${this.transcript()}`);
    });
    return this.#exit;
  }

  /** Ctrl-C: one SIGINT to the group, then waits for it to exit and for every process of the group to be gone. */
  async interrupt(limitMs: number): Promise<JobExit> {
    if (!this.hasExited) process.kill(-this.pgid, 'SIGINT');
    const exit = await this.finished(limitMs);
    await until(() => !groupAlive(this.pgid), `every process of \`${this.line}\` to end after Ctrl-C`, limitMs).catch((error: unknown) => {
      this.kill();
      throw error;
    });
    return exit;
  }

  /** Clean-up after a failure: SIGKILL to whatever of the group is left. */
  kill(): void {
    if (groupAlive(this.pgid)) process.kill(-this.pgid, 'SIGKILL');
  }

  transcript(): string {
    const tail = (text: string): string => (text.length > 4000 ? `…${text.slice(-4000)}` : text);
    return `--- stdout\n${tail(this.#stdout)}\n--- stderr\n${tail(this.#stderr)}`;
  }
}

/** Kills every job still running (for afterEach/afterAll after a failed test). */
export function killAllTypedCommands(): void {
  for (const job of running) job.kill();
}
