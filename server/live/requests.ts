/**
 * Clients' requests on the live stream (`selectPreset`, `labelHold`, the calibration
 * steps, ...), in one place: each part of the server registers a handler per event, and
 * the registry serves them on every connected socket, naming the client as the audit log
 * does at each request. The same handlers answer a request another server forwards over
 * the bus (`bus.ts`) for a device this server owns, so a request behaves the same whichever
 * server the client is on.
 *
 * Pipeline position: beside the live broadcaster, on its socket.io server.
 */
import type { Socket } from 'socket.io';
import type { ClientToServerEvents, CommandReply } from '../contract/live-events.ts';
import { clientName, pairedOfSocket } from '../security/client-name.ts';

export type RequestEvent = keyof ClientToServerEvents;

/**
 * Answers one request: validates `payload` with its schema and calls `reply` once with the
 * answer. `client`: who asked, as `clientName` names them.
 */
export type RequestHandler = (payload: unknown, reply: (answer: CommandReply) => void, client: string) => void;

/** A socket's `on` for any event name (socket.io types it per event; the handlers validate what arrives). */
interface AnyEventSocket {
  on(event: string, listener: (payload: unknown, reply?: unknown) => void): unknown;
}

export class LiveRequests {
  readonly #handlers = new Map<string, RequestHandler>();

  /** Registers the handler of `event` (one per event). */
  on(event: RequestEvent, handler: RequestHandler): void {
    if (this.#handlers.has(event)) throw new Error(`live request ${event} has a handler already`);
    this.#handlers.set(event, handler);
  }

  /** Serves every registered request on a connected client's socket. */
  serve(socket: Socket): void {
    // Asked at each request: the pairing gate names the socket's client after the connection handlers have run.
    const client = (): string => clientName({ address: socket.handshake.address, paired: pairedOfSocket(socket.data) });
    for (const [event, handler] of this.#handlers) {
      (socket as unknown as AnyEventSocket).on(event, (payload, reply) => {
        handler(payload, (answer) => {
          if (typeof reply === 'function') (reply as (answer: CommandReply) => void)(answer);
        }, client());
      });
    }
  }

  /** Answers a request that did not come from a socket of this server (one forwarded over the bus). */
  dispatch(event: string, payload: unknown, client: string): Promise<CommandReply> {
    const handler = this.#handlers.get(event);
    if (handler === undefined) return Promise.resolve({ ok: false, error: `${event}: this server does not serve that request (is it an older version?)` });
    return new Promise((resolve) => handler(payload, resolve, client));
  }
}
