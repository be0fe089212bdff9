/** What went wrong, as a person reads it: an Error's message (the API's errors name the problem), else the value as text. */
export function failureText(failure: unknown): string {
  return failure instanceof Error ? failure.message : String(failure);
}
