/** What the service reads of a request, the same on Express and Fastify. */
export interface HttpRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  rawBody?: Buffer;
  /** Express: the matched route. */
  route?: { path?: string };
  /** Fastify: the matched route; `raw` is Node's request. */
  routeOptions?: { url?: string };
  raw?: object;
}

/** A header's value (the first, if sent more than once). */
export function headerOf(request: HttpRequest, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** The route pattern a request matched (e.g. /api/orders/:id), as either adapter names it. */
export const routePatternOf = (request: HttpRequest): string | undefined => request.routeOptions?.url ?? request.route?.path;

/** Node's request under either adapter's request object. */
export const nodeRequestOf = (request: HttpRequest): object => request.raw ?? request;
