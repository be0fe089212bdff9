/**
 * Who made a change, as the audit log names them: the one place a client's name is made
 * from what the server knows of it. A client on this machine (a loopback address) is
 * `localhost`; any other is its address; a paired client (when pairing applies) is the
 * name it was paired under.
 *
 *   clientName({ address: '::ffff:127.0.0.1' }); // 'localhost'
 *   clientName({ address: '192.168.1.20' });     // '192.168.1.20'
 *   clientName({ address: '192.168.1.20', paired: request.pairedClient }); // 'tablet-1'
 */

/** What the server knows of a request's sender: its address (socket.io's `handshake.address`, fastify's `request.ip`). */
export interface ClientSource {
  readonly address: string | undefined;
  /** The paired client that sent it (fastify's `request.pairedClient`, socket.io's `socket.data.pairedClient`), when pairing applies. */
  readonly paired?: { readonly name: string } | null;
}

/** The paired client a socket.io socket's `data` carries (the pairing gate sets it on connection), or null. */
export function pairedOfSocket(data: unknown): { readonly name: string } | null {
  const paired = (data as { pairedClient?: { name?: unknown } | null } | null | undefined)?.pairedClient;
  return typeof paired?.name === 'string' ? { name: paired.name } : null;
}

function isLoopbackAddress(address: string): boolean {
  const plain = address.replace(/^::ffff:/i, '');
  return plain === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(plain);
}

export function clientName(source: ClientSource): string {
  if (source.paired != null) return source.paired.name;
  const address = source.address?.trim() ?? '';
  if (address === '') return 'unknown client';
  return isLoopbackAddress(address) ? 'localhost' : address;
}
