/**
 * Runs one scenario of expectations.ts: each documented command as typed, in a fresh copy
 * of the repository, in order; a server stays up for the steps after it and is stopped
 * with one Ctrl-C (SIGINT to its process group), which must end it with exit 0.
 *
 *   await runScenario(scenario, copies, manualExamples(REPO_ROOT));
 */
import { createServer } from 'node:net';
import { expect } from 'vitest';
import { freshCopy, type RepositoryCopy } from '../support/fresh-copy.ts';
import { TypedCommand, type JobExit } from '../support/typed-command.ts';
import { runnableCommands, type DocExample } from './examples.ts';
import { commandRun, usesPort8080, type PrintStep, type Scenario, type ServerStep } from './expectations.ts';
import { documentedOutputMismatch } from './probes.ts';

const KNOTMETER_ANNOUNCEMENT = /Knotmeter dashboard: (http:\/\/\S+)/;
const STOP_LIMIT_MS = 20_000;

/** Copies for scenarios: as cloned, or with the dashboard built once (a clone of a copy that built it). */
export class Copies {
  #built: Promise<RepositoryCopy> | null = null;
  readonly #made: RepositoryCopy[] = [];

  async fresh(): Promise<RepositoryCopy> {
    const copy = await freshCopy();
    this.#made.push(copy);
    return copy;
  }

  async built(): Promise<RepositoryCopy> {
    this.#built ??= this.fresh().then(async (template) => {
      const build = TypedCommand.start('node --import tsx dashboard/build.ts', { cwd: template.dir });
      const exit = await build.finished(180_000);
      if (exit.code !== 0) throw new Error(`building the dashboard in a copy failed:\n${build.transcript()}`);
      return template;
    });
    const copy = await (await this.#built).clone();
    this.#made.push(copy);
    return copy;
  }

  async removeAll(): Promise<void> {
    await Promise.all(this.#made.map((copy) => copy.remove()));
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

function documented(command: string, examples: readonly DocExample[]): DocExample[] {
  const found = examples.filter((example) => example.command === command);
  if (!runnableCommands(examples).has(command)) throw new Error(`\`${command}\` is no longer a runnable example in README.md or docs/: update test/docs/expectations.ts`);
  return found;
}

function describeExit(job: TypedCommand, exit: JobExit): string {
  return `\`${job.line}\` exited with ${exit.code ?? `signal ${exit.signal ?? '?'}`}\n${job.transcript()}`;
}

/** Ctrl-C once: exit 0 (or death by SIGINT where the table says so), nothing left of the job, no forced exit. */
async function interrupt(job: TypedCommand, step: ServerStep, dir: string): Promise<void> {
  const exit = await job.interrupt(STOP_LIMIT_MS);
  if (step.ctrlC?.endsBy === 'SIGINT') {
    expect(exit.signal ?? exit.code, `one Ctrl-C must end it: ${describeExit(job, exit)}`).toSatisfy((end) => end === 'SIGINT' || end === 0);
  } else {
    expect(exit.signal, describeExit(job, exit)).toBeNull();
    expect(exit.code, `one Ctrl-C must stop it with exit 0: ${describeExit(job, exit)}`).toBe(0);
    expect(exit.stderr).not.toMatch(/npm error|forcing/i);
  }
  await step.afterStop?.(exit, dir);
}

interface RunningServer {
  readonly job: TypedCommand;
  readonly url: string;
  readonly step: ServerStep;
}

async function startServer(step: ServerStep, dir: string): Promise<RunningServer> {
  if (usesPort8080(step) && !(await portIsFree(8080))) {
    throw new Error(`\`${step.command}\` listens on port 8080 as typed, and something else on this machine holds it: stop it (\`ss -ltnp 'sport = :8080'\` names it) and run the test again`);
  }
  const job = TypedCommand.start(commandRun(step), { cwd: dir });
  try {
    const [, url] = await job.waitForOutput(step.announces ?? KNOTMETER_ANNOUNCEMENT, step.startsWithinMs ?? 60_000);
    if (step.url !== undefined) expect(url).toBe(step.url);
    return { job, url: url ?? '', step };
  } catch (error) {
    job.kill();
    throw error;
  }
}

async function runToEnd(step: PrintStep, dir: string, serverUrl: string | null, examples: readonly DocExample[]): Promise<void> {
  const job = TypedCommand.start(commandRun(step), { cwd: dir });
  try {
    const exit = await job.finished(step.finishesWithinMs);
    expect(exit.code, describeExit(job, exit)).toBe(step.exitCode ?? 0);
    for (const example of documented(step.command, examples)) {
      if (example.output === null) continue;
      const mismatch = documentedOutputMismatch(example.output, exit.stdout);
      expect(mismatch, `${example.file}:${example.line}: ${mismatch ?? ''}`).toBeNull();
    }
    await step.check(exit, { dir, serverUrl });
  } finally {
    step.cleanUp?.();
  }
}

export async function runScenario(scenario: Scenario, copies: Copies, examples: readonly DocExample[]): Promise<void> {
  for (const step of scenario.steps) {
    documented(step.command, examples);
    if (step.runs !== undefined) expect(step.command).toContain(step.runs.part);
  }
  const copy = scenario.copy === 'fresh' ? await copies.fresh() : await copies.built();
  let server: RunningServer | null = null;
  try {
    for (const step of scenario.steps) {
      if (step.kind === 'prints') {
        await runToEnd(step, copy.dir, server?.url ?? null, examples);
        continue;
      }
      if (server !== null) await interrupt(server.job, server.step, copy.dir);
      server = null;
      server = await startServer(step, copy.dir);
      await step.whileRunning({ url: server.url, dir: copy.dir, job: server.job });
    }
    if (server !== null) await interrupt(server.job, server.step, copy.dir);
    server = null;
  } finally {
    server?.job.kill();
  }
}
