// One HTTP request with exactly the headers a test chooses. fetch will not send another
// Host, or a cookie header of the test's own, so the security tests that play a foreign
// name, a forged origin or a stolen cookie speak through Node's http.request instead.
import { request } from 'node:http';

export interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** `send(base, path, headers, method, body)`: a JSON body is sent as application/json. */
export function send(url: string, path: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(new URL(path, url), { method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
