// Every command example of the manual (README.md, docs/) has a check in expectations.ts or
// says in the docs why it is not run here; every check matches an example; commands that
// depend on each other are documented in the order they run. The extraction rules too.
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/cli.ts';
import { examplesOfMarkdown, hasPlaceholder, manualExamples, notRunCommands, runnableCommands, withoutComment, type DocExample } from './examples.ts';
import { SCENARIOS } from './expectations.ts';

const where = (example: DocExample): string => `${example.file}:${example.line}`;

describe('the manual’s command examples', () => {
  const examples = manualExamples(REPO_ROOT);
  const checked = new Set(SCENARIOS.flatMap((scenario) => scenario.steps.map((step) => step.command)));

  const runnable = runnableCommands(examples);

  it('are found', () => {
    expect(runnable.size).toBeGreaterThan(10);
  });

  it('each has a check in test/docs/expectations.ts, or a "not run by the tests:" marker saying why', () => {
    const unchecked = examples.filter((example) => runnable.has(example.command) && !checked.has(example.command));
    expect(unchecked.map((example) => `${where(example)}: ${example.command}`), 'documented examples with no check (add one to expectations.ts, or mark the line "not run by the tests: WHY")').toEqual([]);
  });

  it('each marker gives a reason', () => {
    const bare = examples.filter((example) => example.notRunReason !== null && example.notRunReason.length < 10);
    expect(bare.map((example) => `${where(example)}: ${example.command}`)).toEqual([]);
    expect([...notRunCommands(examples).keys()].filter((command) => checked.has(command)), 'marked not run, yet checked in expectations.ts').toEqual([]);
  });

  it('has no check left for an example that is gone or marked not run', () => {
    expect([...checked].filter((command) => !runnable.has(command)), 'stale entries in expectations.ts').toEqual([]);
  });

  it('documents the commands of each scenario in the order they run, in one file', () => {
    const outOfOrder = SCENARIOS.filter((scenario) => scenario.steps.length > 1).filter((scenario) => {
      const files = new Set(examples.map((example) => example.file));
      return ![...files].some((file) => {
        let line = 0;
        return scenario.steps.every((step) => {
          const next = examples.find((example) => example.file === file && example.command === step.command && example.line > line);
          line = next?.line ?? Infinity;
          return next !== undefined;
        });
      });
    });
    expect(outOfOrder.map((scenario) => scenario.title)).toEqual([]);
  });
});

describe('what counts as an example', () => {
  it('takes every line of an sh block, without its comment; plain blocks are synopses', () => {
    const markdown = ['```sh', 'npm run demo-history     # writes data/demo.db', '', "npm start -- --device 'sim:kneading?rate=1000' # two", '```', '', '```', 'npm start -- [--port N]', '```'].join('\n');
    expect(examplesOfMarkdown('x.md', markdown).map((example) => [example.command, example.line])).toEqual([
      ['npm run demo-history', 2],
      ["npm start -- --device 'sim:kneading?rate=1000'", 4],
    ]);
  });

  it('reads a transcript: prompted lines are commands, the lines after them their output', () => {
    const markdown = ['```', '$ npm run calibrate -- convert --device-id 1a2b3c4d 0 250', '[0,8.06]', '...', '$ npm run ports', '```'].join('\n');
    const found = examplesOfMarkdown('x.md', markdown);
    expect(found.map((example) => [example.command, example.output])).toEqual([
      ['npm run calibrate -- convert --device-id 1a2b3c4d 0 250', ['[0,8.06]', '...']],
      ['npm run ports', []],
    ]);
  });

  it('takes inline npm, curl and printf | npm spans without placeholders, across a line break', () => {
    const markdown = [
      'Run `npm start -- --device emulator`, or `npm run calibrate -- --device SPEC`, then',
      '`npm run analyze -- --session',
      '3 --db data/demo.db`; `npm run demo-history -- [--db FILE]` is a synopsis, `make -C x` is not npm.',
      "`printf 'y\\n' | npm run calibrate -- --device sim:weights` <!-- not run by the tests: slow on purpose -->",
    ].join('\n');
    expect(examplesOfMarkdown('x.md', markdown).map((example) => [example.command, example.line, example.notRunReason])).toEqual([
      ['npm start -- --device emulator', 1, null],
      ['npm run analyze -- --session 3 --db data/demo.db', 2, null],
      ["printf 'y\\n' | npm run calibrate -- --device sim:weights", 4, 'slow on purpose'],
    ]);
  });

  it('reads a not-run marker in a block line’s comment', () => {
    const [example] = examplesOfMarkdown('x.md', ['```sh', 'npm start -- --device serial   # not run by the tests: needs a board on USB', '```'].join('\n'));
    expect(example).toMatchObject({ command: 'npm start -- --device serial', notRunReason: 'needs a board on USB' });
  });

  it('tells placeholders from values, quotes respected', () => {
    expect(hasPlaceholder('npm run calibrate -- fit --device-id ID')).toBe(true);
    expect(hasPlaceholder('npm run calibrate -- fit --sensor fsr|hx711')).toBe(true);
    expect(hasPlaceholder("printf '\\n5 N\\n' | npm run calibrate -- --device 'sim:weights?gain=1.2'")).toBe(false);
    expect(hasPlaceholder('npm start -- --device replay:test/fixtures/traces/example_overpressure.csv --speed 10')).toBe(false);
    expect(withoutComment(`curl -d '{"a": "#1"}' http://x # a comment`)).toBe(`curl -d '{"a": "#1"}' http://x`);
  });
});
