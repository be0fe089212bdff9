/**
 * Which requests are addressed to this server, and from its own pages: the Host check
 * (against DNS rebinding: a page whose name re-resolves to 127.0.0.1 still sends its own
 * name) and the Origin check (a page of another site, or of another port of this machine,
 * sends its own origin). Pure: the HTTP hook and socket.io's `allowRequest` both ask it.
 *
 *   const hosts = new AllowedHosts({ boundAddress: '127.0.0.1', extraNames: ['knot.clinic'] });
 *   hosts.refuseHost('evil.example:8080');               // 'this server does not answer to ...'
 *   refuseOrigin('http://localhost:9999', 'localhost:8080'); // 'requests from pages of ...'
 */
import { hostname, networkInterfaces } from 'node:os';

/** Names every machine gives itself. */
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::', '[::]', '']);
/** What a Host header may hold: a name or address and a port; anything else is not a host. */
const HOST_CHARACTERS = /^[A-Za-z0-9.\-:[\]]+$/;

/**
 * A Host header (or a name given on the command line) in canonical form: lower case, no
 * trailing dot, IPv6 in brackets, IPv4 in dotted decimal (`0x7f.1` is 127.0.0.1), with
 * the port if it had one; null for what is not a host.
 */
export function canonicalHost(text: string): { readonly name: string; readonly host: string } | null {
  if (text.length === 0 || text.length > 300 || !HOST_CHARACTERS.test(text)) return null;
  try {
    const url = new URL(`http://${text}`);
    const name = url.hostname.replace(/\.$/, '');
    return { name, host: url.port === '' ? name : `${name}:${url.port}` };
  } catch {
    return null;
  }
}

function isLoopback(name: string): boolean {
  return LOOPBACK_NAMES.includes(name) || /^127\.\d+\.\d+\.\d+$/.test(name) || name.endsWith('.localhost');
}

/** This machine's names: its host name (and `NAME.local`, as mDNS announces it) and every address of its interfaces. */
function machineNames(): string[] {
  const names = [hostname(), `${hostname()}.local`];
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) names.push(address.family === 'IPv6' ? `[${address.address.replace(/%.*$/, '')}]` : address.address);
  }
  return names;
}

export interface AllowedHostsOptions {
  /** The address the server listens on (`--host`). */
  readonly boundAddress: string;
  /** `--allowed-host NAME`, repeatable: more names this server is reached by (a LAN name, a reverse proxy's). */
  readonly extraNames?: readonly string[];
}

export class AllowedHosts {
  readonly #names = new Set<string>();

  constructor(options: AllowedHostsOptions) {
    const bound = WILDCARD_ADDRESSES.has(options.boundAddress) ? [] : [options.boundAddress.includes(':') && !options.boundAddress.startsWith('[') ? `[${options.boundAddress}]` : options.boundAddress];
    for (const name of [...LOOPBACK_NAMES, ...bound, ...machineNames(), ...(options.extraNames ?? [])]) {
      const canonical = canonicalHost(name);
      if (canonical !== null) this.#names.add(canonical.name);
    }
  }

  /** The names answered to, for a message. */
  get names(): readonly string[] {
    return [...this.#names];
  }

  /** Why a request with this Host header is not for this server, or null when it is. */
  refuseHost(hostHeader: string | undefined): string | null {
    if (hostHeader === undefined) return 'the request names no host (a Host header is required)';
    const canonical = canonicalHost(hostHeader);
    if (canonical === null) return `the request's Host header ${JSON.stringify(hostHeader.slice(0, 100))} is not a host name`;
    if (isLoopback(canonical.name) || this.#names.has(canonical.name)) return null;
    return `this server does not answer to the name ${canonical.name}: open it by an address of this machine (e.g. http://127.0.0.1), or start it with --allowed-host ${canonical.name} if that name is yours`;
  }
}

/**
 * Why a request with this Origin is not from this server's own pages, or null when it is.
 * Browsers send an Origin with every WebSocket and every write; a request without one is
 * not from a page (curl, a script, socket.io-client in Node) and is judged by its Host
 * alone (unless its Sec-Fetch-Site says another site's page sent it). Same origin means the page's host and port are the request's Host: a page on
 * another port of this machine is another site.
 */
export function refuseOrigin(originHeader: string | undefined, hostHeader: string | undefined, fetchSite?: string | string[]): string | null {
  // A page's request without an Origin (a no-cors GET) still says whose page sent it.
  if (originHeader === undefined) return fetchSite === 'cross-site' || fetchSite === 'same-site' ? `requests from another site's page (Sec-Fetch-Site: ${fetchSite}) are refused: only this server's own dashboard may send them` : null;
  let pageHost: string | null = null;
  try {
    const url = new URL(originHeader);
    if (url.protocol === 'http:' || url.protocol === 'https:') pageHost = url.host;
  } catch {
    pageHost = null;
  }
  const requestHost = hostHeader === undefined ? null : canonicalHost(hostHeader);
  if (pageHost !== null && requestHost !== null && pageHost === requestHost.host) return null;
  return `requests from pages of ${originHeader.slice(0, 100)} are refused: only this server's own dashboard may send them`;
}
