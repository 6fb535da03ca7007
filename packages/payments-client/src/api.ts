import createClient, { type ClientOptions } from 'openapi-fetch';
import type { paths } from './schema.js';

/**
 * The typed API (openapi-fetch over the types generated from the service's openapi.json): paths,
 * parameters, bodies and answers are checked by the compiler, so a caller that does not follow a
 * change of the API fails its type-check. It sends what it is given, once; `PaymentsClient.charge`
 * adds the key and the retries.
 */
export function createPaymentsApi(baseUrl: string, options: PaymentsApiOptions = {}) {
  const { fetch: send = globalThis.fetch, ...rest } = options;
  return createClient<paths>({ ...rest, baseUrl, fetch: (request) => sendBuffered(request, send) });
}

export interface PaymentsApiOptions extends Omit<ClientOptions, 'baseUrl' | 'fetch'> {
  /** A fetch of your own; the global fetch by default. */
  fetch?: typeof fetch;
}

export type PaymentsApi = ReturnType<typeof createPaymentsApi>;

/**
 * openapi-fetch hands fetch a Request, whose body is a stream. When the server has closed the kept-alive
 * connection a request goes out on, fetch can resend a buffered body on a new one, not a stream: without
 * this, bursts of requests fail with "other side closed".
 */
async function sendBuffered(request: Request, send: typeof fetch): Promise<Response> {
  const body = request.body ? await request.arrayBuffer() : undefined;
  return send(request.url, { method: request.method, headers: request.headers, body, signal: request.signal });
}
