/**
 * The pairing gate: when auth applies (the server is bound to an address other than
 * loopback, or `--auth always`), every page, API call and socket.io connection needs a
 * paired client's token cookie. Without one: 401 (a page telling how to pair, or a JSON
 * error). A viewer may read (GET, HEAD, and the live stream's broadcasts) and is refused
 * (403) every write and every live-stream request (each one changes something: a preset,
 * a label, calibration); an operator may everything. `GET /pair?code=CODE` exchanges a
 * one-time code for the cookie (HttpOnly, SameSite=Strict, Secure over TLS).
 *
 *   const gate = new PairingGate(new PairingStore(file), { secure: false });
 *   gate.register(http);                                        // after guardHttp
 *   new Server(http.server, { allowRequest: gate.allowRequest(allowRequestFor(hosts)) });
 *   gate.guardSockets(io);
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Server, Socket } from 'socket.io';
import type { CommandReply } from '../contract/live-events.ts';
import { pairingParamsSchema, type PairingState } from '../contract/pairing.ts';
import type { PairedClient, PairingStore, Role } from './pairing.ts';

export const TOKEN_COOKIE = 'knotmeter_token';
/** A paired tablet stays paired for a year unless revoked (the cookie is renewed by pairing again). */
const COOKIE_MAX_AGE_S = 365 * 24 * 3600;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** How often live sockets are checked against revocations made by another process (`npm run pair -- revoke`). */
const REVOCATION_SWEEP_MS = 2000;

export const AUTH_MODES = ['auto', 'always'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

function isLoopbackAddress(address: string): boolean {
  const plain = address.replace(/^\[|\]$/g, '').replace(/^::ffff:/i, '').toLowerCase();
  return plain === 'localhost' || plain === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(plain);
}

/** Whether clients must pair: always with `--auth always`; with `auto`, whenever the server listens beyond loopback. */
export function authApplies(boundAddress: string, mode: AuthMode): boolean {
  return mode === 'always' || !isLoopbackAddress(boundAddress);
}

/** The token in a Cookie header, if any. */
export function tokenFromCookies(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === TOKEN_COOKIE) return value.join('=');
  }
  return undefined;
}

export function roleMayWrite(role: Role): boolean {
  return role === 'operator';
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>\n`;
}

export const PAIR_THIS_DEVICE = 'Pair this device';
const HOW_TO_PAIR =
  '<p>This Knotmeter server lets in only paired devices.</p><p>On the computer running it, open the pairing link it printed at start (or scan its QR code) on this device, or make a new link with <code>npm run pair -- new --role viewer</code> (or <code>--role operator</code> to change presets, labels and calibration).</p>';

export function notPairedMessage(what: string): string {
  return `${what} needs a paired device: open the pairing link the server printed (or make one with npm run pair -- new --role viewer|operator) on this device`;
}

export function viewerRefusal(what: string): string {
  return `${what} refused, nothing changed: this device is paired as a viewer; pair it as an operator (npm run pair -- new --role operator) to change things`;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The paired client that sent it (null when pairing does not apply or it is the pairing link). */
    pairedClient: PairedClient | null;
  }
}

export class PairingGate {
  readonly store: PairingStore;
  readonly #secure: boolean;
  #sweep: NodeJS.Timeout | null = null;
  #io: Server | null = null;

  constructor(store: PairingStore, options: { readonly secure: boolean }) {
    this.store = store;
    this.#secure = options.secure;
  }

  /** The paired client of a request or socket handshake, by its cookie. */
  clientOf(headers: IncomingMessage['headers']): PairedClient | null {
    return this.store.authenticate(tokenFromCookies(headers.cookie));
  }

  /** The HTTP hook and the pairing link. Register after guardHttp, so a foreign Host is refused first. */
  register(http: FastifyInstance): void {
    http.decorateRequest('pairedClient', null);
    http.addHook('onRequest', async (request, reply) => {
      if (request.url.split('?')[0] === '/pair') return;
      const client = this.clientOf(request.headers);
      if (client === null) return this.#refuseUnpaired(request, reply);
      request.pairedClient = client;
      if (!SAFE_METHODS.has(request.method) && !roleMayWrite(client.role)) return reply.code(403).send({ error: viewerRefusal(`${request.method} ${request.url.split('?')[0] ?? ''}`) });
    });
    http.get('/pair', async (request, reply) => {
      const query = request.query as Record<string, unknown>;
      const code = typeof query['code'] === 'string' ? query['code'] : '';
      const name = typeof query['name'] === 'string' ? query['name'] : undefined;
      const paired = code.length > 0 && code.length <= 100 ? this.store.redeem(code, name) : null;
      if (paired === null) {
        return reply.code(401).type('text/html; charset=utf-8').send(page('Pairing link not valid', '<p>This pairing code is unknown, already used or expired (codes last 5 minutes and pair one device).</p>' + HOW_TO_PAIR));
      }
      request.log.info({ client: paired.client.name, role: paired.client.role }, 'device paired');
      const cookie = [`${TOKEN_COOKIE}=${paired.token}`, 'HttpOnly', 'SameSite=Strict', 'Path=/', `Max-Age=${COOKIE_MAX_AGE_S}`, ...(this.#secure ? ['Secure'] : [])].join('; ');
      return reply.code(303).header('set-cookie', cookie).header('location', '/').type('text/html; charset=utf-8').send(page('Paired', `<p>This device is paired as ${escapeHtml(paired.client.name)} (${paired.client.role}). <a href="/">Open the dashboard</a>.</p>`));
    });
  }

  /** `GET /api/pairing` and `DELETE /api/pairing/:name` (the gate has let only operators write). */
  registerApi(http: FastifyInstance): void {
    http.get('/api/pairing', (request, reply) => {
      const state: PairingState = { required: true, you: request.pairedClient === null ? null : { name: request.pairedClient.name, role: request.pairedClient.role }, clients: this.store.list() };
      return reply.send(state);
    });
    http.delete('/api/pairing/:name', async (request, reply) => {
      const params = pairingParamsSchema.safeParse(request.params);
      if (!params.success) return reply.code(400).send({ error: `path: ${params.error.issues.map((issue) => issue.message).join('; ')}` });
      if (!this.store.revoke(params.data.name)) return reply.code(404).send({ error: `no paired device is named ${params.data.name}: nothing changed` });
      request.log.info({ client: params.data.name, by: request.pairedClient?.name }, 'device unpaired');
      if (this.#io !== null) this.disconnectRevoked(this.#io);
      return reply.code(204).send();
    });
  }

  #refuseUnpaired(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const path = request.url.split('?')[0] ?? '';
    const wantsPage = request.method === 'GET' && !path.startsWith('/api/') && (request.headers.accept ?? '').includes('text/html');
    if (wantsPage) return reply.code(401).type('text/html; charset=utf-8').send(page(PAIR_THIS_DEVICE, HOW_TO_PAIR));
    return reply.code(401).send({ error: notPairedMessage(`${request.method} ${path}`) });
  }

  /** socket.io's `allowRequest`: `first` (Host and Origin), then a paired client's cookie. */
  allowRequest(first: (request: IncomingMessage, callback: (error: string | null | undefined, success: boolean) => void) => void) {
    return (request: IncomingMessage, callback: (error: string | null | undefined, success: boolean) => void): void => {
      first(request, (error, success) => {
        if (!success) return callback(error, false);
        const paired = this.clientOf(request.headers) !== null;
        callback(paired ? null : notPairedMessage('the live stream'), paired);
      });
    };
  }

  /** Refuses a viewer's every live-stream request, and disconnects sockets whose client was revoked. */
  guardSockets(io: Server): void {
    io.on('connection', (socket: Socket) => {
      // Who the client is, for the audit log (clientName's `paired`).
      (socket.data as { pairedClient?: PairedClient | null }).pairedClient = this.clientOf(socket.request.headers);
      socket.use((packet, next) => {
        const client = this.clientOf(socket.request.headers);
        if (client === null) {
          socket.disconnect(true);
          return;
        }
        if (roleMayWrite(client.role)) {
          next();
          return;
        }
        const reply: unknown = packet.at(-1);
        const event = typeof packet[0] === 'string' ? packet[0].slice(0, 40) : 'request';
        if (typeof reply === 'function') (reply as (answer: CommandReply) => void)({ ok: false, error: viewerRefusal(event) });
      });
    });
    this.#io = io;
    this.#sweep = setInterval(() => this.disconnectRevoked(io), REVOCATION_SWEEP_MS);
    this.#sweep.unref();
  }

  /** Disconnects every socket whose client is no longer paired. */
  disconnectRevoked(io: Server): void {
    for (const socket of io.sockets.sockets.values()) if (this.clientOf(socket.request.headers) === null) socket.disconnect(true);
  }

  close(): void {
    if (this.#sweep !== null) clearInterval(this.#sweep);
  }
}

/** The pairing API when clients need not pair (on loopback without --auth always): nothing to list or revoke. */
export function registerPairingOff(http: FastifyInstance): void {
  const off: PairingState = { required: false, you: null, clients: [] };
  http.get('/api/pairing', (_request, reply) => reply.send(off));
  http.delete('/api/pairing/:name', async (_request, reply) => reply.code(409).send({ error: 'this server pairs no devices (it listens on loopback only; start it with --host ADDRESS or --auth always to pair): nothing changed' }));
}
