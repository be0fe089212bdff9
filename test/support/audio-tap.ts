// Listens to what the dashboard actually plays: the page, opened with `?audio-tap`, hands
// over its audio context and the node every sound passes through
// (dashboard/src/lib/sound/audio-output.ts); tapAudio hangs an AudioWorklet on it, which
// runs on the audio thread (a busy page loses nothing) and logs, per block of 1024
// samples: its audio time, loudness, pitch (zero crossings), the strength of given notes
// (Goertzel), and a fine envelope for pulse timing. The first panel's force, as shown, is
// logged on the same audio clock each time it changes. The page must be opened with
// `bypassCSP: true`: the worklet's code comes from a blob.
import type { Page } from 'playwright-core';

/** One block the page played. */
export interface TapBlock {
  /** Audio-clock time of the block's first sample, s. */
  readonly atS: number;
  readonly rms: number;
  /** Pitch from rising zero crossings, Hz (0 when too quiet or too few crossings). */
  readonly hz: number;
  /** Amplitude at each of the notes `tapAudio` was given, in the same order. */
  readonly notes: readonly number[];
  /** Peak |sample| of each `ENVELOPE_STEP` samples, for pulse edges. */
  readonly envelope: readonly number[];
  /** The first panel's force as shown when the block played (NaN when none). */
  readonly shownForce: number;
}

export const BLOCK_SAMPLES = 1024;
export const ENVELOPE_STEP = 64;

/**
 * Installs the recorder; `notesHz`: the notes whose strength each block logs;
 * `blockSamples`: the block length (shorter: finer timing, coarser pitch).
 */
export async function tapAudio(page: Page, notesHz: readonly number[], blockSamples = BLOCK_SAMPLES): Promise<{ sampleRate: number }> {
  await page.waitForFunction('typeof window.__knotmeterAudioTap === "function"');
  // A string, not a function: tsx's transform would add helpers the page does not have.
  return page.evaluate<{ sampleRate: number }>(`(${TAP_SCRIPT})(${JSON.stringify(WORKLET_SCRIPT)}, ${JSON.stringify({ notesHz, size: blockSamples })})`);
}

/** The blocks from `fromIndex` on, each with the force shown when it played. */
export async function tapBlocks(page: Page, fromIndex = 0): Promise<TapBlock[]> {
  return page.evaluate<TapBlock[]>(`window.__tapLog.slice(${fromIndex}).map((block) => {
    const shown = window.__tapForces.findLast((change) => change.atS <= block.atS);
    return { ...block, shownForce: shown === undefined ? NaN : shown.force };
  })`);
}

const WORKLET_SCRIPT = String.raw`
const step = ${ENVELOPE_STEP};
let size = ${BLOCK_SAMPLES};
class TapProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.notesHz = options.processorOptions.notesHz;
    size = options.processorOptions.size;
    this.buffer = new Float32Array(size);
    this.filled = 0;
    this.hann = Float32Array.from({ length: size }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (size - 1)));
  }
  process(inputs) {
    const input = inputs[0] && inputs[0][0];
    const frames = input ? input.length : 128;
    if (this.filled === 0) this.startS = currentTime;
    for (let i = 0; i < frames; i++) this.buffer[this.filled + i] = input ? input[i] : 0;
    this.filled += frames;
    if (this.filled >= size) {
      this.port.postMessage(this.analyse(this.buffer, this.startS));
      this.filled = 0;
    }
    return true;
  }
  analyse(samples, atS) {
    let sum = 0;
    const envelope = [];
    for (let start = 0; start < size; start += step) {
      let peak = 0;
      for (let i = start; i < start + step; i++) { sum += samples[i] * samples[i]; peak = Math.max(peak, Math.abs(samples[i])); }
      envelope.push(peak);
    }
    const rms = Math.sqrt(sum / size);
    return { atS, rms, hz: this.pitch(samples, rms), notes: this.notesHz.map((hz) => this.note(samples, hz)), envelope };
  }
  note(samples, hz) {
    const k = (2 * Math.PI * hz) / sampleRate;
    let re = 0, im = 0;
    for (let i = 0; i < size; i++) { re += samples[i] * this.hann[i] * Math.cos(k * i); im -= samples[i] * this.hann[i] * Math.sin(k * i); }
    return (4 * Math.hypot(re, im)) / size;
  }
  pitch(samples, rms) {
    if (rms < 0.003) return 0;
    let first = -1, last = -1, count = 0;
    for (let i = 1; i < size; i++) {
      if (samples[i - 1] < 0 && samples[i] >= 0) {
        const at = i - 1 + -samples[i - 1] / (samples[i] - samples[i - 1]);
        if (first < 0) first = at;
        last = at;
        count++;
      }
    }
    return count >= 3 ? ((count - 1) * sampleRate) / (last - first) : 0;
  }
}
registerProcessor('knotmeter-tap', TapProcessor);
`;

const TAP_SCRIPT = String.raw`async (workletSource, options) => {
  const { context, output } = window.__knotmeterAudioTap();
  const url = URL.createObjectURL(new Blob([workletSource], { type: 'text/javascript' }));
  await context.audioWorklet.addModule(url);
  const tap = new AudioWorkletNode(context, 'knotmeter-tap', { numberOfInputs: 1, numberOfOutputs: 1, processorOptions: options });
  window.__tapLog = [];
  window.__tapForces = [];
  tap.port.onmessage = (event) => window.__tapLog.push(event.data);
  output.connect(tap);
  // A node runs only while something pulls its output: the destination, with silence.
  const silence = context.createGain();
  silence.gain.value = 0;
  tap.connect(silence).connect(context.destination);
  const noteForce = () => {
    const shown = document.querySelector('[data-testid=force]');
    const force = shown === null ? NaN : Number(shown.textContent);
    const last = window.__tapForces.at(-1);
    if (last === undefined || !Object.is(last.force, force)) window.__tapForces.push({ atS: context.currentTime, force });
  };
  new MutationObserver(noteForce).observe(document.body, { subtree: true, childList: true, characterData: true });
  noteForce();
  window.__tapNode = tap;
  return { sampleRate: context.sampleRate };
}`;

/** A pulse found in the envelope: start and end at half its peak, audio-clock seconds. */
export interface Pulse {
  readonly startS: number;
  readonly endS: number;
}

/** Shorter than this is not a pulse but a block the busy page missed (or saw twice). */
const GLITCH_S = 0.04;

/**
 * Pulses in the blocks' envelope: where the peak (over a sliding window of `windowSteps`
 * envelope steps, longer than one period of the lowest note) crosses half of `levelPeak`.
 * Gaps and pulses shorter than GLITCH_S are glitches of the recorder, not of the sound.
 */
export function pulsesOf(blocks: readonly TapBlock[], sampleRate: number, levelPeak: number, windowSteps = 4): Pulse[] {
  const stepS = ENVELOPE_STEP / sampleRate;
  const points = [...blocks]
    .sort((a, b) => a.atS - b.atS)
    .filter((block, index, sorted) => index === 0 || block.atS > (sorted[index - 1]?.atS ?? 0))
    .flatMap((block) => block.envelope.map((peak, index) => ({ atS: block.atS + index * stepS, peak })));
  const edges: Pulse[] = [];
  let startS: number | null = null;
  for (let index = 0; index < points.length; index++) {
    const window = points.slice(Math.max(0, index - windowSteps + 1), index + 1);
    const peak = Math.max(...window.map((point) => point.peak));
    const atS = (points[index]?.atS ?? 0) - ((windowSteps - 1) * stepS) / 2;
    if (startS === null && peak >= levelPeak / 2) startS = atS;
    else if (startS !== null && peak < levelPeak / 2) {
      edges.push({ startS, endS: atS });
      startS = null;
    }
  }
  const merged: Pulse[] = [];
  for (const pulse of edges) {
    const last = merged.at(-1);
    if (last !== undefined && pulse.startS - last.endS < GLITCH_S) merged[merged.length - 1] = { startS: last.startS, endS: pulse.endS };
    else merged.push(pulse);
  }
  return merged.filter((pulse) => pulse.endS - pulse.startS >= GLITCH_S);
}
