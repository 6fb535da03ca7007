import { Logger } from '@nestjs/common';
import { IdempotencyStoreUnavailableError } from '../idempotency.exceptions.js';
import type { BeginResult, StoredResponse } from './idempotency-store.interface.js';

/** `begin`'s answer while someone else holds the lock: one object, it is answered often. */
export const IN_PROGRESS: BeginResult = { state: 'in_progress' };

/**
 * A stored response as the Redis and PostgreSQL stores keep it: its small fields as a JSON array on
 * the first line, then the body as it is, so the body (usually JSON text itself) is neither escaped
 * nor parsed again.
 */
export function encodeRecord(response: StoredResponse): string {
  return `${JSON.stringify([response.fingerprint, response.status, response.headers, response.binary ? 1 : 0, response.sealedBy ?? ''])}\n${response.body}`;
}

export function decodeRecord(record: string): StoredResponse {
  const newline = record.indexOf('\n');
  const [fingerprint, status, headers, binary, sealedBy] = JSON.parse(record.slice(0, newline)) as [string, number, Record<string, string>, 0 | 1, string];
  const response: StoredResponse = { fingerprint, status, headers, body: record.slice(newline + 1) };
  if (binary) response.binary = true;
  if (sealedBy) response.sealedBy = sealedBy;
  return response;
}

/** Redlock's validity for a lock taken at `since`: its TTL less clock drift (1 %) and expiry precision. */
export function validUntil(since: number, ttlMs: number): number {
  return since + ttlMs - Math.round(0.01 * ttlMs) - 2;
}

/** Fails closed: whatever went wrong with the store, the caller gets IdempotencyStoreUnavailableError. */
export function unavailable(error: unknown): never {
  throw new IdempotencyStoreUnavailableError(error);
}

/** A database client or pool: an event emitter with an `error` event and one when it reaches its server again. */
interface ServerClient {
  listenerCount(event: 'error'): number;
  on(event: string, listener: (error: Error) => void): unknown;
}

/**
 * One log line when a client loses its server and one when it is back (its `backEvent`), for
 * clients nobody else listens to: an `error` event without a listener would end the process.
 */
export function logOutages(client: ServerClient, name: string, server: string, backEvent: string): void {
  if (client.listenerCount('error') > 0) return;
  const logger = new Logger(name);
  let down = false;
  client.on('error', (error: Error) => {
    if (down) return;
    down = true;
    logger.error(`${server} unreachable: ${error.message}; requests get 503 until it is back`);
  });
  client.on(backEvent, () => {
    if (!down) return;
    down = false;
    logger.log(`${server} reachable again`);
  });
}
