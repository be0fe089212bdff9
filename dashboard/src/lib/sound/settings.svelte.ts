/**
 * What this dashboard plays besides the alarm (which always sounds): the guide tone that
 * follows force, the chimes at hold milestones, spoken cues. Kept per dashboard (browser)
 * in localStorage; a stored value that does not parse falls back to its default.
 *
 *   soundSettings.set('tone', true);   // remembered for the next visit
 */
import { z } from 'zod';

const STORAGE_KEY = 'knotmeter.sound';

export interface SoundSettingsValues {
  readonly tone: boolean;
  readonly chimes: boolean;
  readonly speech: boolean;
}
export type SoundSetting = keyof SoundSettingsValues;

/** Chimes on (they say little and only at milestones); the continuous tone and speech are asked for. */
export const DEFAULT_SOUND_SETTINGS: SoundSettingsValues = { tone: false, chimes: true, speech: false };

const storedSchema = z.object({
  tone: z.boolean().catch(DEFAULT_SOUND_SETTINGS.tone),
  chimes: z.boolean().catch(DEFAULT_SOUND_SETTINGS.chimes),
  speech: z.boolean().catch(DEFAULT_SOUND_SETTINGS.speech),
});

export class SoundSettings {
  values = $state.raw<SoundSettingsValues>(readStored());

  set(setting: SoundSetting, on: boolean): void {
    this.values = { ...this.values, [setting]: on };
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(this.values));
    } catch {
      // Storage refused (private mode, quota): the setting holds for this page only.
    }
  }
}

function readStored(): SoundSettingsValues {
  try {
    const parsed = storedSchema.safeParse(JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}'));
    return parsed.success ? parsed.data : DEFAULT_SOUND_SETTINGS;
  } catch {
    return DEFAULT_SOUND_SETTINGS;
  }
}
