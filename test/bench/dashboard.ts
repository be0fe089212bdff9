/**
 * How smoothly the live dashboard draws, in Debian's chromium (headless, software
 * rendering): animation frames per second and the frame-interval percentiles while the
 * page shows devices streaming at 100 Hz and 1 kHz, against a baseline measured in the
 * same run: the same page with a device that sends nothing new (`sim:idle` at 10 Hz).
 * The server runs in its own process so it does not share the page's event loop.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDashboardIfStale } from '../../dashboard/build.ts';
import { launchChromium } from '../support/browser.ts';
import { spawnTsx, waitForLine } from '../support/cli.ts';

const MEASURE_MS = 5000;

interface FrameFigures {
  framesPerS: number;
  medianMs: number;
  p95Ms: number;
  worstMs: number;
}

/** Frame intervals over MEASURE_MS, from requestAnimationFrame timestamps in the page. */
const MEASURE_FRAMES = `(measureMs) => new Promise((resolve) => {
  const stamps = [];
  const step = (now) => {
    stamps.push(now);
    if (now - stamps[0] < measureMs) requestAnimationFrame(step);
    else resolve(stamps.slice(1).map((stamp, index) => stamp - stamps[index]));
  };
  requestAnimationFrame(step);
})`;

function figures(intervalsMs: number[]): FrameFigures {
  const sorted = [...intervalsMs].sort((a, b) => a - b);
  const at = (share: number): number => sorted[Math.min(Math.floor(share * sorted.length), sorted.length - 1)] ?? Number.NaN;
  const totalMs = intervalsMs.reduce((sum, interval) => sum + interval, 0);
  return { framesPerS: (intervalsMs.length * 1000) / totalMs, medianMs: at(0.5), p95Ms: at(0.95), worstMs: sorted.at(-1) ?? Number.NaN };
}

async function measure(devices: string[]): Promise<FrameFigures> {
  const server = spawnTsx('server/cli/start.ts', ['--port', '0', '--data-dir', join(tmpdir(), `knotmeter-bench-${process.pid}`), '--log-level', 'silent', '--seed', '1', ...devices.flatMap((device) => ['--device', device])]);
  const browser = await launchChromium();
  try {
    const [, url] = await waitForLine(server, /Knotmeter dashboard: (\S+)/);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(url ?? '');
    await page.getByTestId('device-panel').first().waitFor();
    // Let the chart fill its 30 s window first at 1 kHz: that is the heaviest it gets.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    // A string, not a function: tsx's transform would add helpers the page does not have.
    const intervalsMs = await page.evaluate<number[]>(`(${MEASURE_FRAMES})(${MEASURE_MS})`);
    return figures(intervalsMs);
  } finally {
    await browser.close();
    server.kill('SIGTERM');
  }
}

export async function benchDashboard(): Promise<string[]> {
  await buildDashboardIfStale();
  const cases: [string, string[]][] = [
    ['baseline: one idle device at 10 Hz', ['sim:idle?rate=10']],
    ['one device at 100 Hz', ['sim:kneading?rate=100']],
    ['one device at 1 kHz', ['sim:kneading?rate=1000']],
    ['two devices at 1 kHz', ['sim:kneading?rate=1000', 'sim:over-pressure?rate=1000']],
  ];
  const lines = [
    `Live dashboard in headless chromium (software rendering, 1280×800), ${MEASURE_MS / 1000} s each after 2 s of data:`,
    '',
    '| page shows | frames/s | median frame (ms) | 95th percentile (ms) | worst (ms) |',
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  for (const [label, devices] of cases) {
    const result = await measure(devices);
    lines.push(`| ${label} | ${result.framesPerS.toFixed(1)} | ${result.medianMs.toFixed(1)} | ${result.p95Ms.toFixed(1)} | ${result.worstMs.toFixed(1)} |`);
  }
  return lines;
}
