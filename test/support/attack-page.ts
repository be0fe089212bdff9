// An attacker's web page, for the security tests: plain browser JavaScript that speaks
// socket.io's wire protocol over a raw WebSocket (as any page can, with no library) and
// sends the REST writes with fetch, then reports what the server let through. Served by
// a real HTTP server of its own on another port (another origin), or evaluated in the
// dashboard's own page as the control that shows the same code works from there.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PAGE_SOCKET_SCRIPT, type PageSocketOutcome } from './page-socket.ts';

export interface AttackTarget {
  /** The Knotmeter server as the page addresses it, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly deviceId: string;
  readonly sessionId: number;
}

export interface AttackOutcome {
  readonly socket: PageSocketOutcome;
  /** Each fetch: the HTTP status, or `blocked: ...` when the browser or the server refused it before an answer could be read. */
  readonly fetches: Record<string, string | number>;
}

/**
 * `attack(target, requests)`: the socket.io requests (`[event, payload]`) over one WebSocket,
 * then the REST writes. Bounded: the socket gives up after 5 s.
 */
export const ATTACK_SCRIPT = PAGE_SOCKET_SCRIPT + String.raw`
async function attackFetch(url, init) {
  try {
    const response = await fetch(url, init);
    return response.status;
  } catch (error) {
    return 'blocked: ' + String(error);
  }
}

async function attack(target, requests) {
  const socket = await socketRequests(target.url, requests, { timeoutMs: 5000, forFirstDevice: false });
  const session = target.url + '/api/sessions/' + target.sessionId;
  const json = { 'content-type': 'application/json' };
  const fetches = {
    polling: await attackFetch(target.url + '/socket.io/?EIO=4&transport=polling'),
    pollingNoCors: await attackFetch(target.url + '/socket.io/?EIO=4&transport=polling', { mode: 'no-cors' }),
    patchNotes: await attackFetch(session, { method: 'PATCH', headers: json, body: JSON.stringify({ notes: 'pwned' }) }),
    patchHold: await attackFetch(session + '/holds/1', { method: 'PATCH', headers: json, body: JSON.stringify({ bodyArea: 'pwned', knot: null }) }),
    postNoCors: await attackFetch(session, { method: 'POST', mode: 'no-cors', body: JSON.stringify({ notes: 'pwned' }) }),
    delete: await attackFetch(session, { method: 'DELETE' }),
  };
  return { socket, fetches };
}
`;

/** The attack page: runs the attack on load, with the target and requests from its own address, and leaves the outcome in `window.attackOutcome`. */
export function attackPageHtml(): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Free massage tips</title></head><body>
<h1>Free massage tips</h1>
<script>${ATTACK_SCRIPT}
const params = new URLSearchParams(location.search);
attack(JSON.parse(params.get('target')), JSON.parse(params.get('requests'))).then((outcome) => { window.attackOutcome = outcome; });
</script>
</body></html>`;
}

/** The page with `?target=...&requests=...` for it. */
export function attackPagePath(target: AttackTarget, requests: readonly (readonly [string, unknown])[]): string {
  return `/attack.html?target=${encodeURIComponent(JSON.stringify(target))}&requests=${encodeURIComponent(JSON.stringify(requests))}`;
}

/** A plain HTTP server (the attacker's site) serving the attack page, and a page that frames `frameUrl`. */
export async function startAttackSite(frameUrl: string): Promise<{ readonly url: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/attack.html') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(attackPageHtml());
    } else if (path === '/frame.html') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><html><body><iframe src="${frameUrl}" width="800" height="600"></iframe></body></html>`);
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
