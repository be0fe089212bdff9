// axe-core, injected into a page of Debian's chromium, for WCAG 2.1 AA: the e2e tests ask
// it about a page as it is now. The page must be opened with `bypassCSP: true` (axe is
// injected as a script tag, which the dashboard's CSP would refuse).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const WCAG_21_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** The violations axe finds on the page as it is now, one line each: rule, impact, elements. */
export async function violations(page: Page): Promise<string[]> {
  if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.addScriptTag({ content: AXE_SOURCE });
  // A string, not a function: tsx's transform would add helpers the page does not have.
  return page.evaluate<string[]>(`axe.run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(WCAG_21_AA)} }, resultTypes: ['violations'] })
    .then((result) => result.violations.map((violation) => violation.id + ' (' + violation.impact + '): ' + violation.nodes.map((node) => node.target.join(' ') + ' ' + (node.failureSummary ?? '').replace(/\\s+/g, ' ')).join(' | ')))`);
}

