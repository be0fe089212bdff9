/**
 * The over-pressure alarm's sound (Web Audio): IEC 60601-1-8's medium-priority pattern, a
 * burst of three pulses repeated while any device has an open warning, playing the
 * standard's "energy delivery" melody (C4-D4-E4) with a harmonic-rich tone. The numbers and
 * why they were chosen: docs/alarm-sound.md.
 *
 * A mute lasts `MUTE_MS` (2 min) at most, and a NEW warning (one not open when the mute
 * began) sounds again at once. Warnings are told apart by a key (device id and start).
 *
 *   const alarm = new AlarmSound(audio, () => (muted = alarm.muted));
 *   alarm.update(['1a2b3c4d/81250']);   // sounds; update([]) stops it
 */
import type { AudioOutput } from './sound/audio-output.ts';

/** Effective pulse duration td (between the half-amplitude points), s: medium priority 0.125-0.25. */
export const PULSE_S = 0.2;
/** Rise and fall, s: 15 % of td (the standard: 10-20 %). */
const EDGE_S = 0.03;
/** Pulse spacing ts (end of one pulse to start of the next, half-amplitude points), s: 0.125-0.25. */
export const PULSE_SPACING_S = 0.2;
/** Interburst interval tb (end of a burst's last pulse to the next burst's first), s: 2.5-30. */
export const INTERBURST_S = 2.7;
/** The "energy delivery" melody: C4, D4, E4 (fundamentals within the standard's 150-1000 Hz). */
export const PULSE_HZ = [261.63, 293.66, 329.63] as const;
/** Harmonic amplitudes: the fundamental and four harmonics (2nd-5th: 523-1648 Hz, inside 300-4000 Hz), within 15 dB of it. */
const HARMONICS = [1, 0.6, 0.45, 0.35, 0.25];
const LEVEL = 0.3;
/** The longest a mute lasts. */
export const MUTE_MS = 120_000;

const BURST_S = PULSE_HZ.length * PULSE_S + (PULSE_HZ.length - 1) * PULSE_SPACING_S;
/**
 * Bursts are scheduled on the audio clock this far ahead, so a page busy for over a
 * second still sounds them on time (a mute or the warning's end cuts them at once).
 */
const LOOKAHEAD_S = 1.5;

export class AlarmSound {
  readonly #audio: AudioOutput;
  readonly #onChange: () => void;
  /** The pulse's waveform, made once (computing it is costly). */
  #wave: PeriodicWave | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** Audio-clock time of the next burst. */
  #nextBurstS = 0;
  #mutedUntilMs: number | null = null;
  #muteTimer: ReturnType<typeof setTimeout> | null = null;
  /** The warnings open when the mute began: only these stay silent. */
  #mutedKeys = new Set<string>();
  #openKeys: readonly string[] = [];
  /** Pulses scheduled and not yet over: a mute or the warning's end cuts them at once. */
  #scheduled = new Set<OscillatorNode>();

  constructor(audio: AudioOutput, onChange: () => void) {
    this.#audio = audio;
    this.#onChange = onChange;
  }

  get sounding(): boolean {
    return this.#timer !== null;
  }

  get muted(): boolean {
    return this.#mutedUntilMs !== null;
  }

  /** performance.now() time the mute ends, or null when not muted. */
  get mutedUntilMs(): number | null {
    return this.#mutedUntilMs;
  }

  /** Mutes for MUTE_MS (the warnings open now; a new one sounds), or unmutes. */
  setMuted(muted: boolean): void {
    if (this.#muteTimer !== null) clearTimeout(this.#muteTimer);
    this.#muteTimer = null;
    this.#mutedUntilMs = muted ? performance.now() + MUTE_MS : null;
    this.#mutedKeys = new Set(muted ? this.#openKeys : []);
    if (muted) this.#muteTimer = setTimeout(() => this.setMuted(false), MUTE_MS);
    this.#apply();
  }

  /** The keys of the warnings open now: sounds while one is open that no mute covers. */
  update(openKeys: readonly string[]): void {
    this.#openKeys = openKeys;
    if (this.muted && openKeys.some((key) => !this.#mutedKeys.has(key))) {
      this.setMuted(false);
      return;
    }
    this.#apply();
  }

  close(): void {
    this.#stopBursts();
    if (this.#muteTimer !== null) clearTimeout(this.#muteTimer);
  }

  #apply(): void {
    const shouldSound = this.#openKeys.length > 0 && !this.muted && this.#audio.context !== null;
    if (shouldSound && this.#timer === null) {
      this.#nextBurstS = this.#audio.nowS + 0.02;
      this.#scheduleBursts();
    } else if (!shouldSound && this.#timer !== null) {
      this.#stopBursts();
    }
    this.#onChange();
  }

  #stopBursts(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    for (const oscillator of this.#scheduled) oscillator.stop();
    this.#scheduled.clear();
  }

  /** Plays the bursts due within the lookahead, then sleeps until the next one is near. */
  #scheduleBursts(): void {
    const context = this.#audio.context;
    if (context === null) return;
    // A suspended clock does not move: a burst due in the past is played now, not all at once.
    this.#nextBurstS = Math.max(this.#nextBurstS, context.currentTime + 0.02);
    while (this.#nextBurstS < context.currentTime + LOOKAHEAD_S) {
      this.#burst(context, this.#nextBurstS);
      this.#nextBurstS += BURST_S + INTERBURST_S;
    }
    const sleepMs = Math.max(10, (this.#nextBurstS - context.currentTime - LOOKAHEAD_S + 0.1) * 1000);
    this.#timer = setTimeout(() => this.#scheduleBursts(), sleepMs);
  }

  #burst(context: AudioContext, startS: number): void {
    PULSE_HZ.forEach((hz, index) => this.#pulse(context, hz, startS + index * (PULSE_S + PULSE_SPACING_S)));
  }

  /**
   * One pulse, `startS` at its half-amplitude rise: linear edges of EDGE_S centred on the
   * half-amplitude points, so td and ts are exactly PULSE_S and PULSE_SPACING_S.
   */
  #pulse(context: AudioContext, hz: number, startS: number): void {
    const output = this.#audio.output;
    if (output === null) return;
    this.#wave ??= context.createPeriodicWave(new Float32Array([0, ...HARMONICS.map(() => 0)]), new Float32Array([0, ...HARMONICS]));
    const oscillator = context.createOscillator();
    oscillator.setPeriodicWave(this.#wave);
    oscillator.frequency.value = hz;
    const envelope = context.createGain();
    const riseS = startS - EDGE_S / 2;
    const fallS = startS + PULSE_S - EDGE_S / 2;
    envelope.gain.setValueAtTime(0, riseS);
    envelope.gain.linearRampToValueAtTime(LEVEL, riseS + EDGE_S);
    envelope.gain.setValueAtTime(LEVEL, fallS);
    envelope.gain.linearRampToValueAtTime(0, fallS + EDGE_S);
    oscillator.connect(envelope).connect(output);
    oscillator.start(riseS);
    oscillator.stop(fallS + EDGE_S + 0.01);
    this.#scheduled.add(oscillator);
    oscillator.onended = () => this.#scheduled.delete(oscillator);
  }
}
