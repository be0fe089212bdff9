/**
 * The over-pressure alarm's sound (Web Audio): a burst of three pulses, repeated while
 * any device has an open warning, in the spirit of the medium-priority alarm of IEC
 * 60601-1-8 (three pulses of about 200 ms, a harmonic-rich tone that is easy to locate,
 * repeated every few seconds) rather than a generic beep. Sound is on by default; a mute
 * lasts only as long as the page (the session) and never survives a reload.
 *
 * Browsers may keep audio suspended until the user interacts with the page: `blocked`
 * says so, and `unlock()` (called on the first click or key press) lifts it.
 */

const PULSE_S = 0.2;
const PULSE_GAP_S = 0.1;
const BURST_EVERY_MS = 2500;
/** C5, E5, G5: a short rising figure, easier to tell from other beeps than a monotone. */
const PULSE_HZ = [523.25, 659.25, 783.99];
/** Harmonic amplitudes: a fundamental and four harmonics (the standard asks for at least four). */
const HARMONICS = [1, 0.5, 0.35, 0.25, 0.15];
const LEVEL = 0.25;

export class AlarmSound {
  #context: AudioContext | null = null;
  /** The pulse's waveform, made once per context (computing it is costly). */
  #wave: PeriodicWave | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #muted = false;
  #onChange: () => void;

  constructor(onChange: () => void) {
    this.#onChange = onChange;
  }

  get sounding(): boolean {
    return this.#timer !== null;
  }

  get muted(): boolean {
    return this.#muted;
  }

  /** True while the browser holds audio back until the user interacts with the page. */
  get blocked(): boolean {
    return this.#context?.state === 'suspended';
  }

  setMuted(muted: boolean): void {
    this.#muted = muted;
    if (muted) this.#stopBursts();
    this.#onChange();
  }

  /** Starts or stops the repeating bursts to match whether any warning is open. */
  update(alarmActive: boolean): void {
    if (alarmActive && !this.#muted && this.#timer === null) {
      this.#burst();
      this.#timer = setInterval(() => this.#burst(), BURST_EVERY_MS);
    } else if ((!alarmActive || this.#muted) && this.#timer !== null) {
      this.#stopBursts();
    }
    this.#onChange();
  }

  /** Resumes audio after a user gesture (browsers' autoplay rules). */
  unlock(): void {
    if (this.#context?.state === 'suspended') void this.#context.resume().then(() => this.#onChange());
  }

  close(): void {
    this.#stopBursts();
    void this.#context?.close();
    this.#context = null;
    this.#wave = null;
  }

  #stopBursts(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Created on first need; it starts suspended if the page has had no user gesture yet. */
  #audio(): AudioContext {
    if (this.#context === null) {
      this.#context = new AudioContext();
      this.#context.onstatechange = () => this.#onChange();
    }
    return this.#context;
  }

  #burst(): void {
    const context = this.#audio();
    const startS = context.currentTime + 0.02;
    PULSE_HZ.forEach((hz, index) => this.#pulse(context, hz, startS + index * (PULSE_S + PULSE_GAP_S)));
  }

  /** One pulse: a periodic wave with harmonics, with short ramps so it does not click. */
  #pulse(context: AudioContext, hz: number, startS: number): void {
    this.#wave ??= context.createPeriodicWave(new Float32Array([0, ...HARMONICS.map(() => 0)]), new Float32Array([0, ...HARMONICS]));
    const oscillator = context.createOscillator();
    oscillator.setPeriodicWave(this.#wave);
    oscillator.frequency.value = hz;
    const envelope = context.createGain();
    envelope.gain.setValueAtTime(0, startS);
    envelope.gain.linearRampToValueAtTime(LEVEL, startS + 0.02);
    envelope.gain.setValueAtTime(LEVEL, startS + PULSE_S - 0.03);
    envelope.gain.linearRampToValueAtTime(0, startS + PULSE_S);
    oscillator.connect(envelope).connect(context.destination);
    oscillator.start(startS);
    oscillator.stop(startS + PULSE_S + 0.01);
  }
}
