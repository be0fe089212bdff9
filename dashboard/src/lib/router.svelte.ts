/**
 * The dashboard's pages, addressed by the URL hash (`#/`, `#/history`, ...) so that any
 * page can be bookmarked or reloaded and the server needs no route of its own for them.
 */

export interface Route {
  /** The page's name, e.g. `live`, `history`, `session`. */
  readonly page: string;
  /** What follows the page name in the hash, e.g. a session id. */
  readonly params: readonly string[];
}

function parseHash(hash: string): Route {
  const [page = '', ...params] = hash.replace(/^#\/?/, '').split('/').filter((part) => part !== '').map(decodeURIComponent);
  return { page: page === '' ? 'live' : page, params };
}

export class Router {
  route = $state<Route>(parseHash(window.location.hash));

  constructor() {
    window.addEventListener('hashchange', () => (this.route = parseHash(window.location.hash)));
  }
}

/** The hash for a page, for links: `href(['sessions', '42'])` -> `#/sessions/42`. */
export function href(parts: readonly (string | number)[]): string {
  return `#/${parts.map((part) => encodeURIComponent(String(part))).join('/')}`;
}
