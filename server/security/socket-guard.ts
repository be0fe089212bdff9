/**
 * The live stream's gate: socket.io's `allowRequest` refuses a connection whose Host is
 * not this server's or whose Origin is another site's (403, polling and WebSocket alike),
 * and a middleware on every socket spends a token per request from its client's bucket
 * (one bucket per address, shared by all its sockets, so opening more sockets buys
 * nothing). A refused request changes nothing and is answered `{ok: false, error}` naming
 * the limit, so a flood can neither change state faster nor make the server broadcast
 * faster than the limit allows.
 *
 *   new Server(http, { allowRequest: allowRequestFor(hosts) });
 *   limitSocketRequests(io, new TokenBuckets(SOCKET_REQUEST_LIMITS));
 */
import type { IncomingMessage } from 'node:http';
import type { Server, Socket } from 'socket.io';
import type { CommandReply } from '../contract/live-events.ts';
import type { AllowedHosts } from './hosts.ts';
import { refuseOrigin } from './hosts.ts';
import type { RefusalLog } from './refusal-log.ts';
import { TokenBuckets, type TokenBucketLimits } from './token-bucket.ts';

/** Every request of the dashboard is a person's click: far below this. */
export const SOCKET_REQUEST_LIMITS: TokenBucketLimits = { burst: 20, perSecond: 5 };

/**
 * A client whose answers pile up unread (this many packets, about 2 MB, waiting to be
 * written to it) is disconnected rather than answered again, so a flood it does not read
 * cannot fill memory. Far above what a burst arriving in one read leaves waiting.
 */
const MAX_UNREAD_PACKETS = 10_000;

type AllowRequest = (request: IncomingMessage, callback: (error: string | null | undefined, success: boolean) => void) => void;

/** socket.io's `allowRequest`: the Host and Origin checks, for the handshake and the WebSocket upgrade. */
export function allowRequestFor(hosts: AllowedHosts, refusals: RefusalLog): AllowRequest {
  return (request, callback) => {
    const wrongHost = hosts.refuseHost(request.headers.host);
    const refusal = wrongHost ?? refuseOrigin(request.headers.origin, request.headers.host, request.headers['sec-fetch-site']);
    if (refusal !== null) {
      const attempt = wrongHost === null ? `the live stream from ${request.headers.origin ?? 'another site'}` : `the live stream for Host ${request.headers.host ?? '(none)'}`;
      refusals.refused(wrongHost === null ? 'foreign-origin' : 'foreign-host', request.socket.remoteAddress ?? 'unknown', attempt);
    }
    callback(refusal, refusal === null);
  };
}

/** `per`: whose budget it is (a client's; a server's, for requests it forwards over the bus). */
export function rateLimitMessage(event: string, limits: TokenBucketLimits, per = 'client'): string {
  return `${event} refused, nothing changed: rate limit of ${limits.burst} requests at once and ${limits.perSecond} a second after that per ${per}; wait a moment and send it again`;
}

/** Packets waiting to be written to the client (engine.io's write buffer, typed private but the documented way to see a slow client). */
function unreadPackets(socket: Socket): number {
  return (socket.conn as unknown as { readonly writeBuffer: readonly unknown[] }).writeBuffer.length;
}

/** Spends a token per incoming request of every socket of `io`; over the limit, the request is answered and dropped. */
export function limitSocketRequests(io: Server, buckets: TokenBuckets, refusals: RefusalLog, nowMs: () => number = () => performance.now()): void {
  io.on('connection', (socket: Socket) => {
    const client = socket.handshake.address;
    socket.use((packet, next) => {
      if (buckets.take(client, nowMs())) {
        next();
        return;
      }
      if (unreadPackets(socket) > MAX_UNREAD_PACKETS) {
        socket.disconnect(true);
        return;
      }
      const reply: unknown = packet.at(-1);
      const event = typeof packet[0] === 'string' ? packet[0].slice(0, 40) : 'request';
      refusals.refused('rate-limit', client, `${event} over the live stream's rate limit`);
      if (typeof reply === 'function') (reply as (answer: CommandReply) => void)({ ok: false, error: rateLimitMessage(event, buckets.limits) });
    });
  });
}
