// `npm start` rebuilds the dashboard (dashboard/build.ts --if-stale) only when a file the
// bundle is made from is newer than the build: checked on a small project of its own in a
// temporary folder (file dates set, no waiting), and on this project's own import graph.
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { bundleSources, dashboardIsStale } from '../../dashboard/build.ts';
import { tempDir } from '../server/recording/support.ts';
import { REPO_ROOT } from '../support/cli.ts';

const BUILT_S = 1_000_000;

describe('dashboard/build.ts --if-stale', () => {
  const dir = tempDir('knotmeter-build-');
  afterAll(() => dir.remove());
  const at = (path: string): string => join(dir.path, path);

  /** Writes a file dated `seconds` (before the build: BUILT_S - 10; after it: BUILT_S + 10). */
  function write(path: string, text: string, seconds = BUILT_S - 10): void {
    mkdirSync(dirname(at(path)), { recursive: true });
    writeFileSync(at(path), text);
    utimesSync(at(path), seconds, seconds);
  }

  beforeEach(() => {
    dir.remove();
    write('dashboard/index.html', '<script type="module" src="/src/main.ts"></script>');
    write('dashboard/vite.config.ts', 'export default {};');
    write('dashboard/src/main.ts', "import { shared } from '../../server/live/shared.ts';\nimport type { Only } from '../../server/typed.ts';\nimport App from './App.svelte';\n");
    write('dashboard/src/App.svelte', "<script lang=\"ts\">\n  import {\n    units,\n  } from '../../calibration/units.ts';\n</script>\n");
    write('server/live/shared.ts', "export * from './deeper.ts';\n");
    write('server/live/deeper.ts', 'export const deep = 1;');
    write('server/typed.ts', 'export type Only = 1;');
    write('server/main.ts', "import '../data/x.ts';");
    write('calibration/units.ts', 'export const units = 1;');
    write('package-lock.json', '{}');
    write('dashboard/dist/index.html', '<html></html>', BUILT_S);
  });

  it('follows the dashboard\'s imports into server/ and calibration/, and nothing else', () => {
    expect(bundleSources(dir.path).map((path) => path.slice(dir.path.length + 1))).toEqual([
      'calibration/units.ts',
      'dashboard/index.html',
      'dashboard/src/App.svelte',
      'dashboard/src/main.ts',
      'dashboard/vite.config.ts',
      'package-lock.json',
      'server/live/deeper.ts',
      'server/live/shared.ts',
    ]);
    expect(dashboardIsStale(dir.path)).toBe(false);
  });

  it.each(['device/emulator/build/firmware.hex', 'data/knotmeter.db', 'test/new.test.ts', 'server/main.ts', 'server/typed.ts', 'dashboard/screenshots/live.png'])('does not rebuild for a newer %s', (path) => {
    write(path, 'new', BUILT_S + 10);
    expect(dashboardIsStale(dir.path)).toBe(false);
  });

  it.each(['dashboard/src/App.svelte', 'server/live/deeper.ts', 'calibration/units.ts', 'package-lock.json'])('rebuilds for a newer %s', (path) => {
    utimesSync(at(path), BUILT_S + 10, BUILT_S + 10);
    expect(dashboardIsStale(dir.path)).toBe(true);
  });

  it('rebuilds when there is no build', () => {
    dir.remove();
    write('dashboard/src/main.ts', '');
    expect(dashboardIsStale(dir.path)).toBe(true);
  });

  it('in this project, looks at the dashboard and the shared modules it imports, not at build output, data or tests', () => {
    const sources = bundleSources().map((path) => path.slice(REPO_ROOT.length));
    expect(sources).toContain('dashboard/src/main.ts');
    expect(sources).toContain('server/contract/live-events.ts');
    expect(sources).toContain('calibration/units.ts');
    expect(sources.filter((path) => /^(test|data|docs)\/|\/(build|dist|node_modules)\//.test(path))).toEqual([]);
    expect(sources).not.toContain('server/cli/start.ts');
    expect(sources.filter((path) => path.startsWith('device/emulator/'))).toEqual([]);
  });
});
