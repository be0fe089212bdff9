/**
 * When two labels are the same label: neither case nor hyphens, underscores and spaces
 * matter, so `?bodyArea=upper-back` (the preset's name) finds holds labelled "Upper back"
 * and trends keep them in one group. Labels stay stored as typed; this decides which
 * stored spellings a filter asks the storage for (`sessions.ts`) and how trends group.
 *
 *   labelMatchKey('Upper_back ') === labelMatchKey('upper-back')  // 'upper back'
 */

/** The form two spellings of one label share. */
export function labelMatchKey(text: string): string {
  return text.toLowerCase().replace(/[-_\s]+/g, ' ').trim();
}

/** The spellings among `stored` that match `wanted`. */
export function spellingsOf(wanted: string, stored: readonly string[]): string[] {
  const key = labelMatchKey(wanted);
  return stored.filter((spelling) => labelMatchKey(spelling) === key);
}
