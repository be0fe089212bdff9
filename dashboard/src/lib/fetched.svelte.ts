/**
 * An answer a component asks the server for, asked again whenever what the request reads
 * (a prop, a filter) changes: the latest answer, or the text of why it failed. An answer
 * that arrives after a newer request went out, or after the component is gone, is dropped,
 * so a slow old answer never replaces a newer one. Create it while the component starts:
 *
 *   const pairs = new Fetched(() => getSessionPpt(sessionId));
 *   {#if pairs.error !== null}…{:else if pairs.value !== null}…{/if}
 */
import { failureText } from './failure.ts';

export class Fetched<T> {
  /** The latest answer; null until the first arrives (and again after a request with `clear`). */
  value = $state.raw<T | null>(null);
  /** Why the latest request failed (an action of the component may set it too); null once one succeeds. */
  error = $state<string | null>(null);

  /**
   * `request` runs inside an effect: every state it reads synchronously asks again when it
   * changes. `clear`: forget the old answer and error while a new one is asked (default:
   * keep showing the old answer until the new one comes). `askAgainOn`: state the request
   * does not read but whose change must ask again (a count of saves that change the answer).
   */
  constructor(request: () => Promise<T>, { clear = false, askAgainOn }: { clear?: boolean; askAgainOn?: () => unknown } = {}) {
    $effect(() => {
      askAgainOn?.();
      if (clear) {
        this.value = null;
        this.error = null;
      }
      let current = true;
      request().then(
        (answer) => {
          if (!current) return;
          this.value = answer;
          this.error = null;
        },
        (failure: unknown) => {
          if (current) this.error = failureText(failure);
        },
      );
      return () => {
        current = false;
      };
    });
  }
}
