import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** A response as the app wrote it: status, lower-case headers, body. */
export interface CapturedResponse {
  status: number;
  headers: OutgoingHttpHeaders;
  body: string | Buffer;
}

/** What goes out instead of the captured response, e.g. a 503 when its outcome could not be stored. */
export interface ReplacementResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Headers of the captured response that do not belong to the replacement. */
  drop: string[];
}

/** Whether the app has ended the response (its end is held or already sent). */
export interface HeldResponse {
  readonly ended: boolean;
}

type Callback = (error?: Error | null) => void;
type Chunk = string | Uint8Array;

/**
 * Holds back what the app writes on a Node response (`writeHead`, `write`, `end`: what Express's
 * `res.send` and Fastify's `reply.send` both come down to) until `settle` has dealt with it, then
 * sends it, or the replacement `settle` returns. So what is stored is the response as it leaves
 * the app, after its interceptors, serializers and exception filters, and it is stored before the
 * client has it.
 */
export function holdResponse(raw: ServerResponse, settle: (captured: CapturedResponse) => Promise<ReplacementResponse | undefined>): HeldResponse {
  let head: Parameters<ServerResponse['writeHead']> | undefined;
  const chunks: Array<{ chunk: Chunk; encoding?: BufferEncoding }> = [];
  const callbacks: Callback[] = [];
  let ended = false;
  // Kept only to be put back on `raw` as they were, never called detached.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const { writeHead, write, end } = raw;

  const keep = (chunk: unknown, encoding: unknown, callback: unknown) => {
    if (typeof chunk === 'function') callbacks.push(chunk as Callback);
    else if (chunk !== null && chunk !== undefined)
      chunks.push({ chunk: chunk as Chunk, encoding: typeof encoding === 'string' ? (encoding as BufferEncoding) : undefined });
    if (typeof encoding === 'function') callbacks.push(encoding as Callback);
    if (typeof callback === 'function') callbacks.push(callback as Callback);
  };

  raw.writeHead = ((...args: Parameters<ServerResponse['writeHead']>) => {
    head = args;
    return raw;
  }) as ServerResponse['writeHead'];
  raw.write = ((chunk: unknown, encoding?: unknown, callback?: unknown) => {
    keep(chunk, encoding, callback);
    return true;
  }) as ServerResponse['write'];
  raw.end = ((chunk?: unknown, encoding?: unknown, callback?: unknown) => {
    if (ended) return raw;
    ended = true;
    keep(chunk, encoding, callback);
    // The response's own methods again, for what now goes out (assigned back rather than deleted,
    // which would turn the response into a slow dictionary object).
    raw.writeHead = writeHead;
    raw.write = write;
    raw.end = end;
    const body = bodyOf(chunks);
    settle({ status: typeof head?.[0] === 'number' ? head[0] : raw.statusCode, headers: headersOf(raw, head), body }).then(
      (replacement) => {
        const done = () => callbacks.forEach((callback) => callback());
        if (replacement) return sendReplacement(raw, replacement, done);
        if (head) raw.writeHead(...head);
        raw.end(body, done);
      },
      (error: unknown) => raw.destroy(error as Error),
    );
    return raw;
  }) as ServerResponse['end'];
  return {
    get ended() {
      return ended;
    },
  };
}

function bodyOf(chunks: Array<{ chunk: Chunk; encoding?: BufferEncoding }>): string | Buffer {
  if (chunks.length === 1 && typeof chunks[0]!.chunk === 'string' && (chunks[0]!.encoding ?? 'utf8') === 'utf8') return chunks[0]!.chunk;
  if (chunks.length === 0) return '';
  return Buffer.concat(chunks.map(({ chunk, encoding }) => (typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk)));
}

/** Headers set on the response and those given to `writeHead` (Fastify passes all of them there). */
function headersOf(raw: ServerResponse, head: Parameters<ServerResponse['writeHead']> | undefined): OutgoingHttpHeaders {
  const headers = raw.getHeaders();
  // writeHead(status, headers) or writeHead(status, statusMessage, headers)
  const given = (head as unknown[] | undefined)?.find((arg, index) => index > 0 && typeof arg === 'object') as OutgoingHttpHeaders | unknown[] | undefined;
  if (Array.isArray(given)) {
    for (let index = 0; index + 1 < given.length; index += 2) headers[String(given[index]).toLowerCase()] = given[index + 1] as string;
  } else if (given) {
    for (const name in given) headers[name.toLowerCase()] = given[name];
  }
  return headers;
}

function sendReplacement(raw: ServerResponse, replacement: ReplacementResponse, done: () => void): void {
  for (const name of replacement.drop) raw.removeHeader(name);
  raw.writeHead(replacement.status, { ...replacement.headers, 'content-length': String(Buffer.byteLength(replacement.body)) });
  raw.end(replacement.body, done);
}
