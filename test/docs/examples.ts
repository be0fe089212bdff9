/**
 * The command examples of the manual (README.md and docs/**.md), as a user would type
 * them, read from the files at run time. The rules (stated in docs' own convention):
 *
 * - every line of a fenced block marked `sh` (or `shell`, `bash`, `console`) is a command,
 *   its ` # comment` tail dropped, blank and comment-only lines skipped, a line ending in
 *   `\` joined with the next; if the block shows prompts (`$ `), only the prompted lines
 *   are commands and the lines after each, up to the next prompt, are its output;
 * - a plain block (no language) holds synopses with placeholders: not examples, except
 *   its `$ ` prompted lines (a transcript), which are;
 * - an inline code span outside blocks is an example when it starts with `npm `,
 *   `curl ` or `printf ... | npm ` and has no placeholder (an upper-case word such as
 *   `FILE` or `ID`, `[`, `...`, or a `|` choice such as `fsr|hx711`), all outside quotes;
 * - an example that cannot run here carries, on its line, `not run by the tests:` and
 *   why (in a block, in its `#` comment; in prose, e.g. in an HTML comment); one marked
 *   occurrence covers every occurrence of the same command.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface DocExample {
  /** The command as typed, prompt and comment removed. */
  readonly command: string;
  /** Path from the repository's root, e.g. `docs/running.md`. */
  readonly file: string;
  /** 1-based line of the command (of the span's start, for inline code). */
  readonly line: number;
  readonly source: 'block' | 'inline';
  /** The output the docs show after a `$ ` command (`...` lines elide), or null. */
  readonly output: readonly string[] | null;
  /** Why the tests do not run it, from the `not run by the tests:` marker, or null. */
  readonly notRunReason: string | null;
}

const SHELL_LANGUAGES = new Set(['sh', 'shell', 'bash', 'console']);
const NOT_RUN_MARKER = /not run by the tests:\s*(.*?)\s*(?:-->|\)?\s*$)/;
const FENCE = /^\s{0,3}(`{3,}|~{3,})\s*([^\s`]*)/;

/** The markdown files of the manual, README.md first, then docs/ in path order. */
export function manualFiles(root: string): string[] {
  const files = ['README.md'];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir)).sort()) {
      const path = join(dir, entry);
      if (statSync(join(root, path)).isDirectory()) walk(path);
      else if (entry.endsWith('.md')) files.push(path);
    }
  };
  try {
    walk('docs');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return files;
}

/** Positions of characters outside single and double quotes (shell rules, roughly). */
function unquotedMask(text: string): boolean[] {
  const mask: boolean[] = [];
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quote === null && char === '\\') {
      mask.push(false, false);
      i++;
    } else if (quote === null && (char === "'" || char === '"')) {
      quote = char;
      mask.push(false);
    } else if (quote !== null && char === quote) {
      quote = null;
      mask.push(false);
    } else mask.push(quote === null);
  }
  return mask;
}

/** The command without its ` # comment` tail (a `#` after a space, outside quotes). */
export function withoutComment(line: string): string {
  const mask = unquotedMask(line);
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '#' && mask[i] && (i === 0 || /\s/.test(line[i - 1] ?? ''))) return line.slice(0, i).trimEnd();
  }
  return line.trimEnd();
}

/** True when the text is a synopsis or a reference rather than something to type. */
export function hasPlaceholder(text: string): boolean {
  const mask = unquotedMask(text);
  const unquoted = Array.from({ length: text.length }, (_, i) => (mask[i] ? text[i] : ' ')).join('');
  if (/[[\]]|\.\.\.|…/.test(unquoted)) return true;
  if (/\S\|\S/.test(unquoted)) return true;
  return /(^|[\s=:])[A-Z][A-Z0-9_]+(?=$|[\s,.:;)])/.test(unquoted);
}

function markerReason(line: string): string | null {
  const match = NOT_RUN_MARKER.exec(line);
  return match === null ? null : (match[1] ?? '');
}

interface BlockLine {
  readonly text: string;
  readonly line: number;
}

function blockExamples(file: string, language: string, lines: readonly BlockLine[]): DocExample[] {
  const shell = SHELL_LANGUAGES.has(language);
  if (!shell && language !== '') return [];
  const prompted = lines.some(({ text }) => text.startsWith('$ '));
  if (!shell && !prompted) return [];
  const examples: { command: string; line: number; raw: string; output: string[] | null }[] = [];
  let pending: { text: string; line: number; raw: string } | null = null;
  for (const { text, line } of lines) {
    const current = examples.at(-1);
    if (prompted && !text.startsWith('$ ') && pending === null) {
      current?.output?.push(text);
      continue;
    }
    const raw: string = pending === null ? text : `${pending.raw} ${text}`;
    const body: string = pending === null ? (prompted ? text.slice(2) : text) : `${pending.text} ${text.trim()}`;
    const startLine: number = pending?.line ?? line;
    if (body.trimEnd().endsWith('\\')) {
      pending = { text: body.trimEnd().slice(0, -1).trimEnd(), line: startLine, raw };
      continue;
    }
    pending = null;
    const command = withoutComment(body).trim();
    if (command === '') continue;
    examples.push({ command, line: startLine, raw, output: prompted ? [] : null });
  }
  return examples.map(({ command, line, raw, output }) => ({
    command,
    file,
    line,
    source: 'block',
    output: output === null ? null : trimBlankEnds(output),
    notRunReason: markerReason(raw),
  }));
}

function trimBlankEnds(lines: string[]): string[] {
  const kept = [...lines];
  while (kept.length > 0 && kept.at(-1)?.trim() === '') kept.pop();
  while (kept.length > 0 && kept[0]?.trim() === '') kept.shift();
  return kept;
}

const RUNNABLE_START = /^(npm |curl |printf .*\|\s*npm )/;

/** Inline spans of one stretch of prose (fenced blocks already blanked, line count kept). */
function inlineExamples(file: string, prose: string): DocExample[] {
  const proseLines = prose.split('\n');
  const lineStarts: number[] = [];
  let offset = 0;
  for (const text of proseLines) {
    lineStarts.push(offset);
    offset += text.length + 1;
  }
  const lineOf = (at: number): number => {
    let line = 0;
    while (line + 1 < lineStarts.length && (lineStarts[line + 1] ?? Infinity) <= at) line++;
    return line;
  };
  const examples: DocExample[] = [];
  const span = /(`+)([\s\S]*?[^`])\1(?!`)/g;
  for (let match = span.exec(prose); match !== null; match = span.exec(prose)) {
    const inner = match[2] ?? '';
    if (/\n\s*\n/.test(inner)) {
      span.lastIndex = match.index + (match[1]?.length ?? 1);
      continue;
    }
    const command = inner.replace(/\s*\n\s*/g, ' ').trim();
    if (!RUNNABLE_START.test(command) || hasPlaceholder(command)) continue;
    const first = lineOf(match.index);
    const last = lineOf(match.index + match[0].length - 1);
    const reason = markerReason(proseLines[first] ?? '') ?? markerReason(proseLines[last] ?? '');
    examples.push({ command, file, line: first + 1, source: 'inline', output: null, notRunReason: reason });
  }
  return examples;
}

/** Every example of one markdown text, in document order. */
export function examplesOfMarkdown(file: string, markdown: string): DocExample[] {
  const lines = markdown.split('\n');
  const examples: DocExample[] = [];
  const prose: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const opening = FENCE.exec(lines[i] ?? '');
    if (opening === null) {
      prose.push(lines[i] ?? '');
      continue;
    }
    const fence = opening[1] ?? '```';
    const language = (opening[2] ?? '').toLowerCase();
    const body: BlockLine[] = [];
    prose.push('');
    let j = i + 1;
    for (; j < lines.length; j++) {
      const text = lines[j] ?? '';
      prose.push('');
      if (text.trim().startsWith(fence[0]?.repeat(fence.length) ?? fence) && text.trim().replace(/[`~]/g, '') === '') break;
      body.push({ text, line: j + 1 });
    }
    examples.push(...blockExamples(file, language, body));
    i = j;
  }
  examples.push(...inlineExamples(file, prose.join('\n')));
  return examples.sort((a, b) => a.line - b.line);
}

/** Every example of the manual under `root`, file by file in document order. */
export function manualExamples(root: string): DocExample[] {
  return manualFiles(root).flatMap((file) => examplesOfMarkdown(relative(root, join(root, file)), readFileSync(join(root, file), 'utf8')));
}

/** The commands marked as not run (anywhere in the manual), with the first reason given. */
export function notRunCommands(examples: readonly DocExample[]): Map<string, string> {
  const marked = new Map<string, string>();
  for (const example of examples) if (example.notRunReason !== null && !marked.has(example.command)) marked.set(example.command, example.notRunReason);
  return marked;
}

/** The distinct commands the tests must run: documented and not marked. */
export function runnableCommands(examples: readonly DocExample[]): Set<string> {
  const marked = notRunCommands(examples);
  return new Set(examples.map((example) => example.command).filter((command) => !marked.has(command)));
}
