import { request as httpRequest } from 'node:http';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/**
 * One request as a client sends it. Node's own client, so a header can be sent twice (an array
 * value) the way a broken proxy would.
 */
export function send(
  baseUrl: string,
  path: string,
  options: { method?: string; key?: string | string[]; body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Answer> {
  const body = options.body === undefined ? '{}' : JSON.stringify(options.body);
  const headers: Record<string, string | string[]> = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    ...options.headers,
  };
  if (options.key !== undefined) headers['idempotency-key'] = options.key;
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(`${baseUrl}${path}`, { method: options.method ?? 'POST', headers, signal: options.signal }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: incoming.statusCode!, headers: incoming.headers, text, json });
      });
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

let counter = 0;
export const newKey = (prefix = 'key') => `${prefix}-${process.pid}-${Date.now()}-${++counter}`;
