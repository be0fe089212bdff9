/**
 * The dashboard's one Web Audio output: every sound it plays (the over-pressure alarm,
 * the guide tone, the chimes) goes through `output` to the speakers. The context is made
 * when the page loads, so the page knows at once whether the browser holds audio back
 * until a gesture (autoplay rules: `blocked`) and can ask for it before any alarm could
 * be missed; `unlock()`, called from a click or key press, lifts it.
 *
 *   const audio = new AudioOutput(() => (blocked = audio.blocked));
 *   oscillator.connect(audio.output);
 *
 * Tests and the bench listen to what the page plays: with `?audio-tap` in the page's
 * URL (and only then) `window.__knotmeterAudioTap()` returns the context and `output`.
 */

export interface AudioTap {
  readonly context: AudioContext;
  readonly output: AudioNode;
}

declare global {
  interface Window {
    __knotmeterAudioTap?: () => AudioTap;
  }
}

export class AudioOutput {
  /** Null where the browser has no Web Audio: then nothing sounds, and `blocked` says so. */
  readonly context: AudioContext | null;
  readonly output: GainNode | null;

  constructor(onChange: () => void) {
    this.context = typeof AudioContext === 'function' ? new AudioContext() : null;
    this.output = this.context?.createGain() ?? null;
    if (this.context === null || this.output === null) return;
    this.output.connect(this.context.destination);
    this.context.onstatechange = onChange;
    const { context, output } = this;
    if (new URLSearchParams(window.location.search).has('audio-tap')) window.__knotmeterAudioTap = () => ({ context, output });
  }

  /** True while the page cannot play sound: the browser waits for a gesture, or has no Web Audio. */
  get blocked(): boolean {
    return this.context === null || this.context.state !== 'running';
  }

  /** Seconds on the audio clock: when a sound scheduled now starts. */
  get nowS(): number {
    return this.context?.currentTime ?? 0;
  }

  /** Resumes audio after a user gesture (browsers' autoplay rules). */
  unlock(): void {
    if (this.context?.state === 'suspended') void this.context.resume();
  }

  close(): void {
    void this.context?.close();
  }
}
