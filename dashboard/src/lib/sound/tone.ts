/**
 * The guide tone: a soft sine that follows force relative to the preset, so a hold can be
 * followed by ear. Below the band: silent. In the band: a steady A4 (440 Hz). Above the
 * band: the pitch rises with force, an octave from the band's top to the over limit.
 *
 *   const tone = new GuideTone(audio);
 *   tone.follow({ forceN: 34, bandLowN: 15, bandHighN: 30, overLimitN: 45 });   // ~530 Hz
 *   tone.follow(null);                                                          // silent
 */
import type { AudioOutput } from './audio-output.ts';

export const BAND_HZ = 440;
const LEVEL = 0.12;
/** Pitch glides this fast (time constant, s): smooth, yet a step is heard within a few ms. */
const GLIDE_S = 0.008;
/** Fades in and out this fast (time constant, s): no click. */
const FADE_S = 0.02;

export interface ForceAgainstPreset {
  readonly forceN: number;
  readonly bandLowN: number;
  readonly bandHighN: number;
  readonly overLimitN: number;
}

/** The tone's pitch for a force, Hz, or null for silence (below the band). */
export function toneHz({ forceN, bandLowN, bandHighN, overLimitN }: ForceAgainstPreset): number | null {
  if (forceN < bandLowN) return null;
  if (forceN <= bandHighN) return BAND_HZ;
  const share = Math.min(1, (forceN - bandHighN) / (overLimitN - bandHighN));
  return BAND_HZ * 2 ** share;
}

export class GuideTone {
  readonly #audio: AudioOutput;
  #oscillator: OscillatorNode | null = null;
  #gain: GainNode | null = null;
  #sounding = false;

  constructor(audio: AudioOutput) {
    this.#audio = audio;
  }

  /** Follows this force, or falls silent (null). */
  follow(force: ForceAgainstPreset | null): void {
    const hz = force === null ? null : toneHz(force);
    if (hz === null) {
      this.#fade(false);
      return;
    }
    const nodes = this.#nodes();
    if (nodes === null) return;
    nodes.oscillator.frequency.setTargetAtTime(hz, this.#audio.nowS, GLIDE_S);
    this.#fade(true);
  }

  close(): void {
    this.#oscillator?.stop();
    this.#oscillator = null;
    this.#gain = null;
  }

  #fade(on: boolean): void {
    if (this.#gain === null || on === this.#sounding) return;
    this.#sounding = on;
    this.#gain.gain.setTargetAtTime(on ? LEVEL : 0, this.#audio.nowS, FADE_S);
  }

  /** One oscillator for the page's life, made on first need. */
  #nodes(): { oscillator: OscillatorNode; gain: GainNode } | null {
    const { context, output } = this.#audio;
    if (context === null || output === null) return null;
    if (this.#oscillator === null || this.#gain === null) {
      this.#gain = context.createGain();
      this.#gain.gain.value = 0;
      this.#oscillator = context.createOscillator();
      this.#oscillator.frequency.value = BAND_HZ;
      this.#oscillator.connect(this.#gain).connect(output);
      this.#oscillator.start();
    }
    return { oscillator: this.#oscillator, gain: this.#gain };
  }
}
