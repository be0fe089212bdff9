/**
 * Builds the dashboard with Vite into dashboard/dist. `--if-stale` (what `npm start`
 * runs first) builds only when dist is missing or older than a file the bundle is made
 * from, so a fresh clone just works and a second start is instant.
 *
 *   npm run build                                   # always
 *   node --import tsx dashboard/build.ts --if-stale # only when a source is newer
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const DASHBOARD_DIR = fileURLToPath(new URL('.', import.meta.url));
const REPO_DIR = join(DASHBOARD_DIR, '..');

/** Files whose imports are followed; anything else (CSS, images) counts only by its own date. */
const CODE_EXTENSIONS = new Set(['.ts', '.js', '.mjs', '.svelte']);
/**
 * Relative imports in a module: `import ... from`, `export ... from`, `import '...'` and
 * `import('...')`. `import type` / `export type` are left out: types never reach the bundle.
 */
const IMPORT_PATTERNS = [
  /^\s*(?:import|export)\s+(?!type\s)[^'"`;]*?\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]/gm,
  /^\s*import\s*['"](\.{1,2}\/[^'"]+)['"]/gm,
  /\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g,
];

function filesUnder(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return IMPORT_PATTERNS.flatMap((pattern) => [...text.matchAll(pattern)].map((match) => resolve(dirname(file), match[1] ?? '')));
}

/**
 * Everything the bundle is made from, outside node_modules: the dashboard's own sources,
 * its page and Vite config, the lock file (the packages), and every module of the server,
 * the calibration or the device layer that the dashboard imports, followed to the end of
 * the import graph. Not build output, data, tests, or server code the dashboard never
 * imports.
 */
export function bundleSources(repoDir = REPO_DIR): string[] {
  const dashboardDir = join(repoDir, 'dashboard');
  const entries = [...filesUnder(join(dashboardDir, 'src')), join(dashboardDir, 'index.html'), join(dashboardDir, 'vite.config.ts'), join(repoDir, 'package-lock.json')];
  const found = new Set<string>();
  const pending = entries.filter((file) => existsSync(file));
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (found.has(file)) continue;
    found.add(file);
    if (!CODE_EXTENSIONS.has(extname(file))) continue;
    // An import that names no file is Vite's to report when it builds.
    pending.push(...importsOf(file).filter((imported) => !found.has(imported) && existsSync(imported) && statSync(imported).isFile()));
  }
  return [...found].sort();
}

export function dashboardIsStale(repoDir = REPO_DIR): boolean {
  const builtIndex = join(repoDir, 'dashboard', 'dist', 'index.html');
  if (!existsSync(builtIndex)) return true;
  const builtMs = statSync(builtIndex).mtimeMs;
  return bundleSources(repoDir).some((source) => statSync(source).mtimeMs > builtMs);
}

export async function buildDashboard(): Promise<void> {
  // Loaded only to build: a start whose dashboard is current does not pay for Vite.
  const { build } = await import('vite');
  await build({ configFile: join(DASHBOARD_DIR, 'vite.config.ts'), logLevel: 'warn' });
}

/** Builds unless a current build exists; true if it built. */
export async function buildDashboardIfStale(): Promise<boolean> {
  if (!dashboardIsStale()) return false;
  await buildDashboard();
  return true;
}

const runAsScript = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (runAsScript && (!process.argv.includes('--if-stale') || dashboardIsStale())) {
  process.stderr.write('Building the dashboard…\n');
  await buildDashboard();
}
