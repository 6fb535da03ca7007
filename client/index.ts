import createClient, { type ClientOptions } from 'openapi-fetch';
import type { paths } from './schema.js';

export type { components, operations, paths } from './schema.js';

/**
 * A typed client of the service (openapi-fetch over the types generated from openapi.json by
 * `npm run openapi`): paths, parameters, bodies and answers are checked by the compiler, so a
 * change of the API that a caller does not follow fails the type-check.
 */
export function createPaymentsClient(baseUrl: string, options: Omit<ClientOptions, 'baseUrl'> = {}) {
  return createClient<paths>({ fetch: sendBuffered, ...options, baseUrl });
}

/**
 * openapi-fetch hands fetch a Request, whose body is a stream. When the server has closed the kept-alive
 * connection a request goes out on, fetch can resend a buffered body on a new one, not a stream: without
 * this, bursts of requests fail with "other side closed".
 */
async function sendBuffered(request: Request): Promise<Response> {
  const body = request.body ? await request.arrayBuffer() : undefined;
  return fetch(request.url, { method: request.method, headers: request.headers, body, signal: request.signal });
}

export type PaymentsClient = ReturnType<typeof createPaymentsClient>;
