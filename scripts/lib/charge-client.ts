/** The charge client of the scripts: one request and its answer, never a throw, and a bounded pool to send many. */

/** What one charge request produced. */
export interface ChargeAnswer {
  /** 'error': no HTTP answer at all (the charge may still have run on the server). */
  status: number | 'error';
  /** The Idempotency-Cached header; null when the answer had none. */
  cached: boolean | null;
  /** The body as sent, or for 'error' what went wrong. */
  text: string;
  /** The charge id of a 201. */
  chargeId?: string;
  /** The `code` of a problem body, e.g. REQUEST_IN_PROGRESS. */
  code?: string;
  /** Until the body was read (what a client waits for); only for answers, so timeouts do not distort percentiles. */
  latencyMs?: number;
}

export interface ChargeRequest {
  key: string;
  /** The JSON body, as sent: a retry must send the very same bytes. */
  body: string;
  headers?: Record<string, string>;
  timeoutMs: number;
}

export async function sendCharge(baseUrl: string, request: ChargeRequest): Promise<ChargeAnswer> {
  const started = performance.now();
  try {
    const response = await fetch(`${baseUrl}/api/payments/charge`, {
      method: 'POST',
      headers: { ...request.headers, 'Content-Type': 'application/json', 'Idempotency-Key': request.key },
      body: request.body,
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    const text = await response.text();
    const latencyMs = performance.now() - started;
    const payload = parseJson(text);
    const cachedHeader = response.headers.get('idempotency-cached');
    return {
      status: response.status,
      cached: cachedHeader === null ? null : cachedHeader.trim().toLowerCase() === 'true',
      text,
      chargeId: response.status === 201 ? stringField(payload, 'id') : undefined,
      code: stringField(payload, 'code'),
      latencyMs,
    };
  } catch (error) {
    return { status: 'error', cached: null, text: describeError(error, request.timeoutMs) };
  }
}

export function describeError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `timed out after ${timeoutMs} ms`;
  }
  // fetch wraps the socket error ("fetch failed"); the cause carries the useful part (ECONNREFUSED...).
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * A fixed number of workers pull the next index until none is left, so at most `concurrency`
 * tasks are in flight and a slow one never blocks the others.
 */
export async function runPool<T>(total: number, concurrency: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(total);
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return results;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function stringField(payload: unknown, field: string): string | undefined {
  return isRecord(payload) && typeof payload[field] === 'string' ? payload[field] : undefined;
}
