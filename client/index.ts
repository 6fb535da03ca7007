import createClient, { type ClientOptions } from 'openapi-fetch';
import type { paths } from './schema.js';

export type { components, operations, paths } from './schema.js';

/**
 * A typed client of the service (openapi-fetch over the types generated from openapi.json by
 * `npm run openapi`): paths, parameters, bodies and answers are checked by the compiler, so a
 * change of the API that a caller does not follow fails the type-check.
 */
export function createPaymentsClient(baseUrl: string, options: Omit<ClientOptions, 'baseUrl'> = {}) {
  return createClient<paths>({ ...options, baseUrl });
}

export type PaymentsClient = ReturnType<typeof createPaymentsClient>;
