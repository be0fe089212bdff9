// The manual's examples that listen on (or ask) port 8080 as typed, in fresh copies of the
// repository: servers must start, do what the docs say, and stop on one Ctrl-C with exit 0.
// Each scenario has a network of its own (own-network.ts: a Linux network namespace), where
// its port 8080 is its own, so they run side by side (most of their time is waiting: a
// server starting, the firmware compiling, a simulated push to come) instead of one after
// another. See expectations.ts for the table and the port rule.
import { afterAll, describe, it } from 'vitest';
import { REPO_ROOT } from '../support/cli.ts';
import { killAllTypedCommands } from '../support/typed-command.ts';
import { manualExamples } from './examples.ts';
import { SCENARIOS, scenarioUsesPort8080 } from './expectations.ts';
import { Copies, runScenario } from './run-scenario.ts';

describe('documented commands on port 8080, as typed', () => {
  const copies = new Copies();
  // A failed scenario's jobs are killed at the end.
  afterAll(async () => {
    killAllTypedCommands();
    await copies.removeAll();
  });

  for (const scenario of SCENARIOS.filter(scenarioUsesPort8080)) {
    it.concurrent(`${scenario.title}: ${scenario.steps.map((step) => step.command).join(' ; ')}`, () => runScenario(scenario, copies, manualExamples(REPO_ROOT), { ownNetwork: true }), 200_000);
  }
});
