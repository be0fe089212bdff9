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
import { OwnNetwork } from './own-network.ts';
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

async function startServer(step: ServerStep, dir: string, network: OwnNetwork | null): Promise<RunningServer> {
  if (network === null && usesPort8080(step) && !(await portIsFree(8080))) {
    throw new Error(`\`${step.command}\` listens on port 8080 as typed, and something else on this machine holds it: stop it (\`ss -ltnp 'sport = :8080'\` names it) and run the test again`);
  }
  const job = TypedCommand.start(network?.serve(commandRun(step)) ?? commandRun(step), { cwd: dir });
  try {
    const [, url] = await job.waitForOutput(step.announces ?? KNOTMETER_ANNOUNCEMENT, step.startsWithinMs ?? 60_000);
    if (step.url !== undefined) expect(url).toBe(step.url);
    // The checks reach the server from outside its network through a bridge (own-network.ts).
    return { job, url: network === null ? (url ?? '') : await network.reach(job.pgid, url ?? ''), step };
  } catch (error) {
    job.kill();
    throw error;
  }
}

async function runToEnd(step: PrintStep, dir: string, server: RunningServer | null, network: OwnNetwork | null, examples: readonly DocExample[]): Promise<void> {
  const serverUrl = server?.url ?? null;
  // With a network of its own, a command runs in its server's (where that server's port 8080 is).
  const line = network !== null && server !== null ? network.inside(commandRun(step), server.job.pgid) : commandRun(step);
  const job = TypedCommand.start(line, { cwd: dir });
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

/** `ownNetwork`: run its servers in a network namespace of their own (own-network.ts), so that scenarios on port 8080 can run side by side. */
export async function runScenario(scenario: Scenario, copies: Copies, examples: readonly DocExample[], options: { ownNetwork?: boolean } = {}): Promise<void> {
  for (const step of scenario.steps) {
    documented(step.command, examples);
    if (step.runs !== undefined) expect(step.command).toContain(step.runs.part);
  }
  const copy = scenario.copy === 'fresh' ? await copies.fresh() : await copies.built();
  const network = options.ownNetwork === true ? new OwnNetwork() : null;
  let server: RunningServer | null = null;
  try {
    for (const step of scenario.steps) {
      if (step.kind === 'prints') {
        await runToEnd(step, copy.dir, server, network, examples);
        continue;
      }
      if (server !== null) await interrupt(server.job, server.step, copy.dir);
      network?.closeBridges();
      server = null;
      server = await startServer(step, copy.dir, network);
      await step.whileRunning({ url: server.url, dir: copy.dir, job: server.job });
    }
    if (server !== null) await interrupt(server.job, server.step, copy.dir);
    server = null;
  } finally {
    server?.job.kill();
    network?.close();
  }
}
