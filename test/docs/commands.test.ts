// The manual's examples that need no fixed port: printing commands (exit status and what
// they print, the output a transcript shows included) and servers on a port of their own,
// each in a fresh copy of the repository. See expectations.ts for the table.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { REPO_ROOT } from '../support/cli.ts';
import { killAllTypedCommands } from '../support/typed-command.ts';
import { manualExamples } from './examples.ts';
import { noteCalibrationDemoDir, SCENARIOS, scenarioUsesPort8080 } from './expectations.ts';
import { Copies, runScenario } from './run-scenario.ts';

describe('documented commands on no fixed port, as typed', () => {
  const copies = new Copies();
  beforeAll(noteCalibrationDemoDir);
  // The tests run side by side (most of their time is waiting: a wizard on a real-time
  // simulated bench, servers starting); a failed one's jobs are killed at the end.
  afterAll(async () => {
    killAllTypedCommands();
    await copies.removeAll();
  });

  for (const scenario of SCENARIOS.filter((scenario) => !scenarioUsesPort8080(scenario))) {
    it.concurrent(`${scenario.title}: ${scenario.steps.map((step) => step.command).join(' ; ')}`, () => runScenario(scenario, copies, manualExamples(REPO_ROOT)), 200_000);
  }
});
