/**
 * Chimes at hold milestones: short bell-like notes, well above the guide tone and the
 * alarm so neither hides them. Hold start: one G5; target reached: C6 then E6 (rising);
 * release (past the maximum hold, repeated): G6 then D6 (falling).
 *
 *   new Chimes(audio).play('target');
 */
import type { AudioOutput } from './audio-output.ts';

export type ChimeKind = 'start' | 'target' | 'release';

/** Each chime's notes, Hz, one every NOTE_EVERY_S. */
export const CHIME_NOTES_HZ: Readonly<Record<ChimeKind, readonly number[]>> = {
  start: [783.99],
  target: [1046.5, 1318.51],
  release: [1567.98, 1174.66],
};
const NOTE_EVERY_S = 0.16;
const DECAY_S = 0.5;
const LEVEL = 0.2;

export class Chimes {
  readonly #audio: AudioOutput;

  constructor(audio: AudioOutput) {
    this.#audio = audio;
  }

  play(kind: ChimeKind): void {
    const { context, output } = this.#audio;
    if (context === null || output === null) return;
    CHIME_NOTES_HZ[kind].forEach((hz, index) => note(context, output, hz, context.currentTime + 0.01 + index * NOTE_EVERY_S));
  }
}

/** A struck note: a sine with a quick attack and an exponential decay. */
function note(context: AudioContext, output: AudioNode, hz: number, startS: number): void {
  const oscillator = context.createOscillator();
  oscillator.frequency.value = hz;
  const envelope = context.createGain();
  envelope.gain.setValueAtTime(0, startS);
  envelope.gain.linearRampToValueAtTime(LEVEL, startS + 0.005);
  envelope.gain.setTargetAtTime(0, startS + 0.005, DECAY_S / 4);
  oscillator.connect(envelope).connect(output);
  oscillator.start(startS);
  oscillator.stop(startS + DECAY_S + 0.05);
}
