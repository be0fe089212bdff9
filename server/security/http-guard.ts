/**
 * The HTTP server's gate and headers: a request whose Host is not this server's is
 * refused (421) before any route sees it, a write (any method but GET, HEAD, OPTIONS)
 * from another site's page is refused (403), and every answer carries the security
 * headers (@fastify/helmet): a strict Content-Security-Policy (this server's scripts,
 * styles and connections only; no framing), nosniff, no referrer.
 *
 *   await guardHttp(http, new AllowedHosts({ boundAddress: '127.0.0.1' }));
 */
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import { refuseOrigin, type AllowedHosts } from './hosts.ts';
import type { RefusalLog } from './refusal-log.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The dashboard is a Vite build: its scripts and styles are files of this server (Svelte
 * sets inline styles through the CSSOM, which CSP allows), charts draw on canvas, the
 * live stream is a WebSocket to this same origin.
 */
export const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:', 'blob:'],
  fontSrc: ["'self'"],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'none'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
} as const;

export async function guardHttp(http: FastifyInstance, hosts: AllowedHosts, refusals: RefusalLog): Promise<void> {
  await http.register(helmet, {
    // useDefaults off: helmet's defaults add upgrade-insecure-requests, which breaks the dashboard served over plain HTTP on a LAN.
    contentSecurityPolicy: { useDefaults: false, directives: { ...CONTENT_SECURITY_POLICY } },
    // The server speaks plain HTTP; HSTS is for whoever terminates TLS in front of it.
    strictTransportSecurity: false,
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  });
  // After helmet's hooks, so that refusals carry the headers too.
  http.addHook('onRequest', async (request, reply) => {
    const wrongHost = hosts.refuseHost(request.headers.host);
    if (wrongHost !== null) {
      refusals.refused('foreign-host', request.ip, `${request.method} ${request.url.split('?')[0] ?? ''} for Host ${request.headers.host ?? '(none)'}`);
      return reply.code(421).send({ error: wrongHost });
    }
    if (SAFE_METHODS.has(request.method)) return;
    const foreignPage = refuseOrigin(request.headers.origin, request.headers.host, request.headers['sec-fetch-site']);
    if (foreignPage !== null) {
      refusals.refused('foreign-origin', request.ip, `${request.method} ${request.url.split('?')[0] ?? ''} from ${request.headers.origin ?? request.headers['sec-fetch-site'] ?? 'another site'}`);
      return reply.code(403).send({ error: foreignPage });
    }
  });
}
