// The manual's examples that listen on (or ask) port 8080 as typed, one after another in
// fresh copies of the repository: servers must start, do what the docs say, and stop on
// one Ctrl-C with exit 0. See expectations.ts for the table and the port rule.
import { afterAll, afterEach, describe, it } from 'vitest';
import { REPO_ROOT } from '../support/cli.ts';
import { killAllTypedCommands } from '../support/typed-command.ts';
import { manualExamples } from './examples.ts';
import { SCENARIOS, scenarioUsesPort8080 } from './expectations.ts';
import { Copies, runScenario } from './run-scenario.ts';

describe('documented commands on port 8080, as typed', () => {
  const copies = new Copies();
  afterEach(killAllTypedCommands);
  afterAll(() => copies.removeAll());

  for (const scenario of SCENARIOS.filter(scenarioUsesPort8080)) {
    it(`${scenario.title}: ${scenario.steps.map((step) => step.command).join(' ; ')}`, () => runScenario(scenario, copies, manualExamples(REPO_ROOT)), 200_000);
  }
});
