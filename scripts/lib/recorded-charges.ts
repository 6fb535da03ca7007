/**
 * How the scripts send charges: through the project's PaymentsClient, with a fetch that records
 * every raw answer (the client's verdict hides the 409s and replays a script must count).
 */
import { PaymentNotSettledError, PaymentRejectedError, type ChargeRequest, type PaymentsClient } from '@idempotent-payments/client';

/** One charge request as it went out and what came back; times in ms since the recording started. */
export interface Answer {
  /** 1-based, in sending order, so a report can name the request. */
  id: number;
  key: string;
  /** Which of the base URLs it was sent to. */
  instance: number;
  sentAtMs: number;
  /** Once its body was read; undefined without an answer (it may still have run on the server). */
  answeredAtMs?: number;
  /** 'error': no HTTP answer at all. */
  status: number | 'error';
  /** The Idempotency-Cached header; null when the answer had none. */
  cached: boolean | null;
  /** The body, or for 'error' what went wrong. */
  text: string;
  /** The charge id of a 201. */
  chargeId?: string;
  /** The `code` of a problem body, e.g. REQUEST_IN_PROGRESS. */
  code?: string;
}

/**
 * A fetch for PaymentsClient (built with `baseUrls[0]`) that sends the requests round-robin over
 * `baseUrls`, so duplicates race across processes, and hands each answer to `record`.
 */
export function recordingFetch(baseUrls: string[], record: (answer: Answer) => void, startedAt = performance.now()): typeof fetch {
  let sent = 0;
  return async (input, init) => {
    const id = ++sent;
    const instance = (id - 1) % baseUrls.length;
    const request = { id, instance, key: new Headers(init?.headers).get('idempotency-key') ?? '', sentAtMs: performance.now() - startedAt };
    try {
      const url = input instanceof Request ? input.url : input.toString();
      const response = await fetch(baseUrls[instance] + url.slice(baseUrls[0].length), init);
      const text = await response.clone().text();
      const payload = parseJson(text);
      const cached = response.headers.get('idempotency-cached');
      const status = response.status;
      const chargeId = status === 201 ? payload.id : undefined;
      record({
        ...request,
        answeredAtMs: performance.now() - startedAt,
        status,
        cached: cached === null ? null : cached.trim() === 'true',
        text,
        chargeId,
        code: payload.code,
      });
      return response;
    } catch (error) {
      record({ ...request, status: 'error', cached: null, text: describeError(error) });
      throw error;
    }
  };
}

/**
 * Charges through a client with a recording fetch. The recording holds every answer, so the client's
 * rejection of one is no news; any other error (nothing was sent) is a bug of the script.
 */
export async function sendCharge(client: PaymentsClient, body: ChargeRequest, idempotencyKey: string): Promise<void> {
  await client.charge(body, { idempotencyKey }).catch((error: unknown) => {
    if (!(error instanceof PaymentRejectedError || error instanceof PaymentNotSettledError)) throw error;
  });
}

export function describeError(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return 'timed out';
  // fetch wraps the socket error ("fetch failed"); the cause carries the useful part (ECONNREFUSED, bad port...).
  const cause = error instanceof Error && error.cause instanceof Error ? (error.cause as Error & { code?: string }) : undefined;
  if (cause) return cause.code ? `${cause.code} (${cause.message})` : cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** `concurrency` workers pull the next index until none is left, so a slow task never blocks the others. */
export async function runPool(total: number, concurrency: number, task: (index: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < total) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
}

function parseJson(text: string): { id?: string; code?: string } {
  try {
    return (JSON.parse(text) as { id?: string; code?: string } | null) ?? {};
  } catch {
    return {};
  }
}
