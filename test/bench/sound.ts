/**
 * Force step -> audible pitch change at the page: a replayed device steps between 33 N
 * and 40 N every second (above the shoulders band, so the guide tone moves between 505
 * and 698 Hz); headless chromium shows the live view with the guide tone on, and an
 * AudioWorklet tapped into the page's audio graph (test/support/audio-tap.ts) finds when
 * the new pitch sounds. The same-run baseline is the step's arrival at the page: a raw
 * socket.io WebSocket opened in the page itself (no library, nothing else done with it)
 * stamps each readings message as it comes. Device time and the page's clock are tied by
 * the least delayed batch, so "step -> arrival" includes the server's batching (a batch
 * every 50 ms). The server runs in its own process. Alone: `npx tsx test/bench/sound.ts`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDashboardIfStale } from '../../dashboard/build.ts';
import { tapAudio, tapBlocks } from '../support/audio-tap.ts';
import { launchChromium } from '../support/browser.ts';
import { spawnTsx, waitForLine } from '../support/cli.ts';

const LEAD_IN_MS = 8000;
const STEP_EVERY_MS = 1000;
const STEPS = 40;
const LOW_N = 33;
const HIGH_N = 40;
/** Between the two pitches (505 and 698 Hz): above it the high one sounds. */
const MIDDLE_HZ = 600;
/** Short blocks for fine timing: 256 samples, about 5 ms. */
const BLOCK_SAMPLES = 256;

/** In the page: a raw socket.io connection that stamps each step it sees in the readings. */
const WATCH_STEPS = String.raw`() => {
  const { context } = window.__knotmeterAudioTap();
  window.__steps = [];
  window.__batches = [];
  let lastForceN = null;
  const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + '/socket.io/?EIO=4&transport=websocket');
  ws.onmessage = (event) => {
    const text = String(event.data);
    if (text === '2') { ws.send('3'); return; }
    if (text.startsWith('0')) { ws.send('40'); return; }
    if (!text.startsWith('42["readings"')) return;
    const arrivedAtMs = performance.now();
    const arrivedAtS = context.currentTime;
    for (const batch of JSON.parse(text.slice(2))[1]) {
      window.__batches.push({ lastTMs: batch.tMs[batch.tMs.length - 1], arrivedAtMs });
      batch.forceN.forEach((forceN, index) => {
        if (lastForceN !== null && Math.abs(forceN - lastForceN) > 3) window.__steps.push({ tMs: batch.tMs[index], up: forceN > lastForceN, arrivedAtMs, arrivedAtS });
        lastForceN = forceN;
      });
    }
  };
}`;

interface SeenStep {
  tMs: number;
  up: boolean;
  arrivedAtMs: number;
  arrivedAtS: number;
}

function trace(): string {
  const rows = ['t_ms,force_n'];
  for (let tMs = 0; tMs < LEAD_IN_MS + STEPS * STEP_EVERY_MS; tMs += 10) {
    const step = Math.floor((tMs - LEAD_IN_MS) / STEP_EVERY_MS);
    rows.push(`${tMs},${tMs < LEAD_IN_MS ? 20 : step % 2 === 0 ? HIGH_N : LOW_N}`);
  }
  return `${rows.join('\n')}\n`;
}

function percentile(values: readonly number[], share: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(Math.floor(share * sorted.length), sorted.length - 1)] ?? Number.NaN;
}

export async function benchSound(): Promise<string[]> {
  await buildDashboardIfStale();
  const dir = mkdtempSync(join(tmpdir(), 'knotmeter-bench-sound-'));
  writeFileSync(join(dir, 'steps.csv'), trace());
  const browser = await launchChromium();
  const server = spawnTsx('server/cli/start.ts', ['--port', '0', '--data-dir', dir, '--log-level', 'silent', '--device', `replay:${join(dir, 'steps.csv')}?speed=1`]);
  try {
    const [, url] = await waitForLine(server, /Knotmeter dashboard: (\S+)/);
    // The tap's worklet comes from a blob, which the dashboard's CSP rightly refuses.
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
    await page.addInitScript(`localStorage.setItem('knotmeter.sound', JSON.stringify({ tone: true, chimes: false, speech: false }))`);
    await page.goto(`${url ?? ''}/?audio-tap`);
    const { sampleRate } = await tapAudio(page, [], BLOCK_SAMPLES);
    await page.evaluate(`(${WATCH_STEPS})()`);
    await page.waitForFunction(`window.__steps.length >= ${STEPS - 1}`, undefined, { timeout: LEAD_IN_MS + STEPS * STEP_EVERY_MS + 10_000 });
    const steps = await page.evaluate<SeenStep[]>('window.__steps');
    const batches = await page.evaluate<{ lastTMs: number; arrivedAtMs: number }[]>('window.__batches');
    const blocks = await tapBlocks(page);
    // Page clock minus device clock for the least delayed batch: when a sample was "made".
    const offsetMs = Math.min(...batches.map((batch) => batch.arrivedAtMs - batch.lastTMs));
    const blockS = BLOCK_SAMPLES / sampleRate;
    const toArrival: number[] = [];
    const toAudible: number[] = [];
    const arrivalToAudible: number[] = [];
    for (const step of steps) {
      const heard = blocks.find((block, index) => {
        const next = blocks[index + 1];
        const isNew = (hz: number): boolean => (step.up ? hz > MIDDLE_HZ : hz > 0 && hz < MIDDLE_HZ);
        return block.atS >= step.arrivedAtS - 0.2 && isNew(block.hz) && next !== undefined && isNew(next.hz);
      });
      if (heard === undefined) continue;
      // The block is whole once it has been rendered: its end, on the audio clock.
      const audibleMs = step.arrivedAtMs + (heard.atS + blockS - step.arrivedAtS) * 1000;
      toArrival.push(step.arrivedAtMs - (step.tMs + offsetMs));
      toAudible.push(audibleMs - (step.tMs + offsetMs));
      arrivalToAudible.push(audibleMs - step.arrivedAtMs);
    }
    const row = (label: string, values: number[]): string =>
      `| ${label} | ${values.length} | ${percentile(values, 0.5).toFixed(0)} | ${percentile(values, 0.95).toFixed(0)} | ${Math.max(...values).toFixed(0)} |`;
    return [
      `Force step -> audible pitch change at the page (headless chromium, 1280×800, one replayed device at 100 Hz stepping ${LOW_N} <-> ${HIGH_N} N every ${STEP_EVERY_MS / 1000} s, guide tone on, ${steps.length} steps; audio rendered in ${BLOCK_SAMPLES}-sample blocks):`,
      '',
      '| from the force step (device time) to | steps | median (ms) | 95th percentile (ms) | worst (ms) |',
      '| --- | ---: | ---: | ---: | ---: |',
      row('baseline: its readings message arriving at the page (raw WebSocket)', toArrival),
      row('the new pitch rendered by the page', toAudible),
      row('(of which: arrival -> new pitch rendered)', arrivalToAudible),
    ];
  } finally {
    await browser.close();
    server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  for (const line of await benchSound()) console.log(line);
}
