/**
 * Builds the dashboard with Vite into dashboard/dist. `--if-stale` (what `npm start`
 * runs first) builds only when dist is missing or older than any dashboard source or
 * the event schemas it shares with the server, so a fresh clone just works and a
 * second start is instant.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'vite';

const dashboardDir = fileURLToPath(new URL('.', import.meta.url));
const builtIndex = join(dashboardDir, 'dist', 'index.html');
/**
 * Everything the bundle may be made from, outside node_modules: the dashboard itself and
 * the schemas and types it shares with the server (under server/, device/, calibration/).
 * Erring wide costs a rebuild of a few seconds; erring narrow serves a stale dashboard.
 */
const repoDir = join(dashboardDir, '..');
const sources = [
  join(dashboardDir, 'src'),
  join(dashboardDir, 'index.html'),
  join(dashboardDir, 'vite.config.ts'),
  join(repoDir, 'server'),
  join(repoDir, 'device'),
  join(repoDir, 'calibration'),
  join(repoDir, 'package-lock.json'),
];
/** Build outputs inside the source folders: never a reason to rebuild. */
const IGNORED = new Set(['node_modules', 'build', 'dist']);

function newestModificationMs(path: string): number {
  if (!existsSync(path)) return 0;
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  const entries = readdirSync(path).filter((entry) => !IGNORED.has(entry));
  return Math.max(stats.mtimeMs, ...entries.map((entry) => newestModificationMs(join(path, entry))));
}

export function dashboardIsStale(): boolean {
  if (!existsSync(builtIndex)) return true;
  const builtMs = statSync(builtIndex).mtimeMs;
  return sources.some((source) => newestModificationMs(source) > builtMs);
}

export async function buildDashboard(): Promise<void> {
  await build({ configFile: join(dashboardDir, 'vite.config.ts'), logLevel: 'warn' });
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
