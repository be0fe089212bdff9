/**
 * A fresh copy of the repository, as a clone would be: the checkout's files (tracked, and
 * untracked but not ignored, so work in progress is what gets tested) in a temporary
 * folder, with no data/, no dashboard/dist and no firmware build. Its node_modules is a
 * folder of links to the checkout's installed packages (what `npm install` made), so
 * anything a command writes there (Vite's cache) stays in the copy.
 *
 *   const copy = await freshCopy();            // run commands with cwd: copy.dir
 *   await copy.remove();
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from './cli.ts';

export interface RepositoryCopy {
  readonly dir: string;
  /** A further copy of this one (its built files and data too), timestamps kept. */
  clone(): Promise<RepositoryCopy>;
  remove(): Promise<void>;
}

function repositoryFiles(): string[] {
  const listing = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO_ROOT, encoding: 'utf8' });
  return listing.split('\0').filter((path) => path !== '');
}

async function linkInstalledPackages(dir: string): Promise<void> {
  const installed = join(REPO_ROOT, 'node_modules');
  const target = join(dir, 'node_modules');
  await mkdir(target);
  for (const entry of await readdir(installed)) {
    if (entry === '.vite' || entry === '.cache') continue;
    await symlink(join(installed, entry), join(target, entry));
  }
}

function copyAt(dir: string): RepositoryCopy {
  return {
    dir,
    async clone() {
      const other = await mkdtemp(join(tmpdir(), 'knotmeter-copy-'));
      await cp(dir, other, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
      return copyAt(other);
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Copies the checkout's files into a new temporary folder (a deleted but unstaged file is skipped). */
export async function freshCopy(): Promise<RepositoryCopy> {
  const dir = await mkdtemp(join(tmpdir(), 'knotmeter-copy-'));
  for (const path of repositoryFiles()) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await cp(join(REPO_ROOT, path), join(dir, path), { preserveTimestamps: true }).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    });
  }
  await linkInstalledPackages(dir);
  return copyAt(dir);
}
