/**
 * Spoken cues (Web Speech API) for someone who cannot see the screen: "thirty seconds",
 * "target", "release", "ease off". Where the browser has no speech synthesis, nothing is
 * said (the chimes and the alarm still sound).
 */
export type SpokenCue = 'thirty seconds' | 'one minute' | 'ninety seconds' | 'two minutes' | 'target' | 'release' | 'ease off' | 'slower' | 'faster';

export class Speaker {
  say(cue: SpokenCue): void {
    if (typeof speechSynthesis === 'undefined' || typeof SpeechSynthesisUtterance !== 'function') return;
    speechSynthesis.speak(new SpeechSynthesisUtterance(cue));
  }

  /** Drops whatever is queued (the reading went stale: an old cue would mislead). */
  silence(): void {
    if (typeof speechSynthesis !== 'undefined') speechSynthesis.cancel();
  }
}
