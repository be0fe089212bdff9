// Every link between our own Markdown pages leads somewhere: the file it names exists, and
// the heading it names (`#anchor`, as GitHub spells a heading's anchor) is on that page.
// Links out to the web are not followed (the tests run without a network).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/cli.ts';

const SKIPPED_FOLDERS = new Set(['node_modules', '.git', 'test-results', 'dist', 'build']);

function markdownFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name.startsWith('.') || SKIPPED_FOLDERS.has(entry.name)) return [];
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return markdownFiles(path);
    return entry.name.endsWith('.md') ? [path] : [];
  });
}

/** A page's text without its fenced code blocks (a link shown as code is not a link). */
function prose(page: string): string {
  return readFileSync(page, 'utf8').replace(/^```[\s\S]*?^```/gm, '');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2... */
function anchorsOf(page: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading = ''] of prose(page).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  for (const [, name = ''] of prose(page).matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) anchors.add(name);
  return anchors;
}

interface Link {
  readonly from: string;
  readonly target: string;
}

function localLinks(page: string): Link[] {
  const links: Link[] = [];
  for (const [, target = ''] of prose(page).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
    links.push({ from: relative(REPO_ROOT, page), target });
  }
  return links;
}

/** What is wrong with a link, or null. */
function brokenBecause(page: string, target: string): string | null {
  const [pathPart = '', anchor] = target.split('#');
  const file = pathPart === '' ? page : resolve(dirname(page), decodeURIComponent(pathPart));
  if (!existsSync(file)) return `${relative(REPO_ROOT, file)} does not exist`;
  if (anchor === undefined || anchor === '' || !file.endsWith('.md')) return null;
  return anchorsOf(file).has(anchor) ? null : `${relative(REPO_ROOT, file)} has no heading #${anchor}`;
}

describe('links between our pages', () => {
  const pages = markdownFiles(REPO_ROOT);

  it('finds the manual, the README and the protocol among the pages', () => {
    const names = pages.map((page) => relative(REPO_ROOT, page));
    expect(names).toEqual(expect.arrayContaining(['README.md', 'BENCHMARKS.md', 'device/PROTOCOL.md', 'docs/README.md', 'docs/deployment.md']));
  });

  it('leads every link to a page that exists and to a heading that is on it', () => {
    const links = pages.flatMap((page) => localLinks(page).map((link) => ({ ...link, page })));
    expect(links.length).toBeGreaterThan(50);
    const broken = links.flatMap(({ page, from, target }) => {
      const why = brokenBecause(page, target);
      return why === null ? [] : [`${from}: (${target}): ${why}`];
    });
    expect(broken).toEqual([]);
  });

  it('spells anchors as GitHub does', () => {
    expect(anchorsOf(join(REPO_ROOT, 'BENCHMARKS.md')).has('postgresql-against-sqlite---store')).toBe(true);
    expect(brokenBecause(join(REPO_ROOT, 'README.md'), 'docs/running.md#no-such-heading')).toBe('docs/running.md has no heading #no-such-heading');
    expect(brokenBecause(join(REPO_ROOT, 'README.md'), 'docs/nowhere.md')).toBe('docs/nowhere.md does not exist');
  });
});
