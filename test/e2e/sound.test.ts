// What the dashboard plays and says, heard at its audio output in Debian's chromium (a
// recorder tapped into the page's audio graph, test/support/audio-tap.ts) while a replay
// device presses a known force profile ten times faster than real time: the request to
// enable sound (audio held back until a click), the guide tone (silent below the band,
// steady in it, rising above it), the chimes at hold start, target and release, the
// alarm's IEC 60601-1-8 medium-priority pulses, the spoken cues, and silence once the
// reading is no longer current. The mute and a new warning sounding again: alerts.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboardIfStale } from '../../dashboard/build.ts';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { tapAudio, tapBlocks, pulsesOf, type TapBlock } from '../support/audio-tap.ts';
import { launchChromium } from '../support/browser.ts';
import { spawnTsx, waitForLine } from '../support/cli.ts';
import { startTestServer } from '../support/server.ts';

/** The shoulders preset: band 15-30 N, limit 45 N, target 60 s, maximum 90 s. */
const SEGMENTS: readonly (readonly [untilS: number, forceN: number])[] = [
  [100, 0], // lead-in while the page reconnects (10 s at speed 10)
  [121, 20], // in band: a hold starts (chime at 3 s), steady tone
  [141, 25], // still in band: the same pitch
  [171, 34], // above: higher pitch; the hold reaches its 60 s target here
  [201, 40], // higher still; the 90 s maximum passes here (release)
  [211, 10], // below: silent, the hold ends
  [331, 50], // over the limit: the alarm, 12 s of it
  [361, 0],
  [401, 20], // in band, then the data ends: the reading goes stale
];
const SPEED = 10;
const NOTES_HZ = { start: 783.99, target: 1046.5, release: 1567.98 };
const NOTES = [NOTES_HZ.start, NOTES_HZ.target, NOTES_HZ.release];
/** The alarm's pulses peak at its level (alarm-sound.ts): their edges are at half of it. */
const ALARM_PEAK = 0.3;

function trace(): string {
  const rows = ['t_ms,force_n'];
  let fromS = 0;
  let fromN = 0;
  for (const [untilS, forceN] of SEGMENTS) {
    // A 1 s ramp between levels, as a hand presses.
    for (let tMs = fromS * 1000; tMs < untilS * 1000; tMs += 10) rows.push(`${tMs},${(fromN + (forceN - fromN) * Math.min(1, (tMs - fromS * 1000) / 1000)).toFixed(3)}`);
    fromS = untilS;
    fromN = forceN;
  }
  return `${rows.join('\n')}\n`;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
/** Blocks played while the page showed `forceN`, past the first few after it appeared (the tone glides). */
function whileShowing(blocks: readonly TapBlock[], forceN: number): TapBlock[] {
  return blocks.filter((block, index) => Math.abs(block.shownForce - forceN) < 0.05 && blocks.slice(Math.max(0, index - 4), index).every((before) => Math.abs(before.shownForce - forceN) < 0.05));
}

describe('sound in chromium, heard at the page', { timeout: 60_000 }, () => {
  let dataDir: string;
  /** In its own process: the replay keeps time however busy this one gets with the page's recordings. */
  let server: ChildProcess;
  let browser: Browser;
  let page: Page;
  let sampleRate = 48_000;
  let stateBeforeClick = '';
  const pageErrors: string[] = [];

  beforeAll(async () => {
    await buildDashboardIfStale();
    dataDir = mkdtempSync(join(tmpdir(), 'knotmeter-sound-'));
    writeFileSync(join(dataDir, 'profile.csv'), trace());
    // Audio held back until a gesture, as a browser does by default.
    browser = await launchChromium(['--autoplay-policy=document-user-activation-required']);
    // The tap's worklet is loaded from a blob, which the dashboard's CSP rightly refuses.
    page = await browser.newPage({ bypassCSP: true });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.addInitScript(`
      localStorage.setItem('knotmeter.sound', JSON.stringify({ tone: true, chimes: true, speech: true }));
      window.spoken = [];
      if (typeof speechSynthesis !== 'undefined') speechSynthesis.speak = (utterance) => window.spoken.push(utterance.text);
    `);
    // The replay starts with its server, whatever the page is doing: so the page opens
    // first on a server with no device, and the replay's server takes over its port once
    // the page listens (the page reconnects by itself, as after a restart).
    const opening = await startTestServer([]);
    await page.goto(`${opening.url}/?audio-tap`);
    await page.getByTestId('sound-prompt').waitFor();
    stateBeforeClick = await audioState();
    await page.getByTestId('enable-sound').click();
    ({ sampleRate } = await tapAudio(page, NOTES));
    await opening.close();
    server = spawnTsx('server/cli/start.ts', ['--port', new URL(opening.url).port, '--data-dir', dataDir, '--log-level', 'silent', '--preset', 'shoulders', '--device', `replay:${join(dataDir, 'profile.csv')}?speed=${SPEED}&name=Left%20couch`]);
    await waitForLine(server, /Knotmeter dashboard: (\S+)/);
  }, 60_000);
  afterAll(async () => {
    expect(pageErrors).toEqual([]);
    await browser.close();
    server.kill('SIGTERM');
    if (server.exitCode === null && server.signalCode === null) await once(server, 'close');
    rmSync(dataDir, { recursive: true, force: true });
  });

  const audioState = (): Promise<string> => page.evaluate<string>('window.__knotmeterAudioTap().context.state');
  /** Everything the page played, fetched once the profile is over (analysing as it plays would race the replay on a busy machine). */
  let played: TapBlock[] = [];

  it('asked to enable sound before any alarm, and the request went once sound was allowed', async () => {
    expect(stateBeforeClick).toBe('suspended');
    expect(await page.getByTestId('sound-prompt').count()).toBe(0);
    expect(await audioState()).toBe('running');
  });

  it('plays the whole profile: the page ends on its last force, silent', async () => {
    // Over when the last force (in band) is shown and nothing has sounded for a second since.
    const over = `(() => {
      const log = window.__tapLog;
      const tail = log.slice(-44);
      return tail.length === 44 && tail.every((block) => block.rms < 0.001) && window.__tapForces.at(-1)?.force === 20 && window.__tapForces.some((change) => change.force === 50);
    })()`;
    await expect.poll(() => page.evaluate<boolean>(over), { timeout: 120_000, interval: 1000 }).toBe(true);
    played = await tapBlocks(page);
    expect(await page.getByTestId('force').first().textContent()).toBe('20.0');
  }, 150_000);

  it('plays the guide tone: silent below the band, a steady 440 Hz in it, rising with force above it', () => {
    // Blocks without a chime (they have a pitch of their own).
    const toneOnly = played.filter((block) => block.notes.every((strength) => strength < 0.01));
    const pitch = (forceN: number): number => median(whileShowing(toneOnly, forceN).map((block) => block.hz));
    expect(pitch(20)).toBeCloseTo(440, -1);
    expect(pitch(25)).toBeCloseTo(440, -1);
    // 440 × 2^((F - 30) / 15): 34 N -> 528 Hz, 40 N -> 698 Hz.
    expect(pitch(34)).toBeCloseTo(528, -1);
    expect(pitch(40)).toBeCloseTo(698, -1);
    // Once the tone has faded, and well before the alarm: the 0.1 s ramp up to it crosses the
    // band (a rightly sounding tone) while the screen may still show 10, and the alarm comes
    // after the engine's debounce, later still on a loaded machine.
    const belowFrom = played.findIndex((block) => block.shownForce === 10);
    const alarmFromS = pulsesOf(played.slice(belowFrom), sampleRate, ALARM_PEAK)[0]?.startS ?? Number.POSITIVE_INFINITY;
    const below = whileShowing(played.slice(0, played.findIndex((block) => block.shownForce === 50)), 10).slice(12).filter((block) => block.atS < alarmFromS - 0.4);
    expect(below.length).toBeGreaterThan(5);
    // (A chime's tail may ring on: it is above the tone's range.)
    const toned = below.filter((block) => block.rms >= 0.001 && block.hz > 400 && block.hz < 900).map((block) => [block.atS.toFixed(3), block.rms.toFixed(3), Math.round(block.hz)]);
    expect(toned, 'blocks with the guide tone below the band (s, rms, Hz)').toEqual([]);
  });

  it('chimes at hold start, at the target (hold.target) and at release, and only then', () => {
    const firstWith = (noteIndex: number): TapBlock | undefined => played.find((block) => (block.notes[noteIndex] ?? 0) > 0.08);
    // Each chime while the force was where the engine's milestone fell.
    expect(firstWith(0)?.shownForce).toBe(20);
    expect(firstWith(1)?.shownForce).toBe(34);
    expect(firstWith(2)?.shownForce).toBe(40);
  });

  it('sounds the alarm as IEC 60601-1-8 medium priority, the guide tone silent meanwhile', () => {
    // From a little into the step below the band (1 s long): the alarm comes after it.
    const alarmBlocks = played.slice(played.findIndex((block) => block.shownForce === 10) + 10);
    const found = pulsesOf(alarmBlocks, sampleRate, ALARM_PEAK);
    const seen = `pulses heard (s): ${JSON.stringify(found.map((pulse) => [pulse.startS.toFixed(3), pulse.endS.toFixed(3)]))}`;
    const [first, second, third, fourth] = found;
    if (first === undefined || second === undefined || third === undefined || fourth === undefined) throw new Error(`four pulses at least: ${seen}`);
    for (const pulse of [first, second, third]) expect(pulse.endS - pulse.startS, seen).toBeGreaterThanOrEqual(0.125 + 0.05);
    for (const pulse of [first, second, third]) expect(pulse.endS - pulse.startS, seen).toBeLessThanOrEqual(0.25);
    for (const [before, after] of [[first, second], [second, third]] as const) {
      expect(after.startS - before.endS, seen).toBeGreaterThanOrEqual(0.125 + 0.04);
      expect(after.startS - before.endS, seen).toBeLessThanOrEqual(0.25);
    }
    expect(fourth.startS - third.endS, seen).toBeGreaterThanOrEqual(2.5);
    expect(fourth.startS - third.endS, seen).toBeLessThanOrEqual(3);
    // Between bursts nothing sounds: no guide tone under the alarm.
    const gap = alarmBlocks.filter((block) => block.atS > third.endS + 0.1 && block.atS < fourth.startS - 0.1);
    expect(Math.max(...gap.map((block) => block.rms))).toBeLessThan(0.001);
  });

  it('stops guiding once the reading is not current, though the last number is still shown', () => {
    const lastStep = played.slice(played.findLastIndex((block) => block.shownForce !== 20) + 1);
    // In band the tone sounded, then the data ended and it fell silent (the page still shows 20.0).
    const sounding = lastStep.filter((block) => block.rms >= 0.001);
    expect(sounding.length).toBeGreaterThan(20);
    expect(median(sounding.map((block) => block.hz))).toBeCloseTo(440, -1);
    expect(Math.max(...lastStep.slice(-20).map((block) => block.rms))).toBeLessThan(0.001);
  });

  it('speaks the cues', async () => {
    const spoken = await page.evaluate<string[]>('window.spoken');
    for (const cue of ['thirty seconds', 'target', 'release', 'ease off']) expect(spoken).toContain(cue);
    expect(spoken.filter((cue) => cue === 'ease off')).toHaveLength(1);
  });
});
