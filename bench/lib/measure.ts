/** Redis and process figures of a measured window, from INFO commandstats and the probe. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { round } from '../../tools/stats.js';
import type { ProbeSample } from './probed-service.js';
import type { PostgresFigures, RedisFigures } from './types.js';

/** Commands the bench's own Redis client and the services' connection set-up send: not request work. */
const NOT_REQUEST_WORK = /^(info|flushall|flushdb|config\|.*|client\|.*|hello|select|ping|quit)$/;
/**
 * The idempotency layer's own round trips, as the probe labels them: the store's begin/complete
 * scripts (the package's RedisIdempotencyStore; the scripts that touch a record's lock,
 * `idempotency:{…}:lock`: the events worker's consumed markers share the record namespace but
 * take no lock) and Redlock's lock scripts (@sesamecare-oss/redlock). With REDIS_LOCK_URLS (not
 * benchmarked) it would also GET records.
 */
const IDEMPOTENCY_ROUND_TRIP = /^(evalsha|eval):([^#]*idempotency:\{\}:lock|acquireLock$|extendLock$|releaseLock$)/;

export async function commandStats(client: Redis): Promise<Record<string, number>> {
  const info = await client.info('commandstats');
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (!NOT_REQUEST_WORK.test(match[1]!)) calls[match[1]!] = Number(match[2]);
  }
  return calls;
}

export function delta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [name, count] of Object.entries(after)) {
    const difference = count - (before[name] ?? 0);
    if (difference > 0 && !NOT_REQUEST_WORK.test(name)) result[name] = difference;
  }
  return result;
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((sum, count) => sum + count, 0);
const sumWhere = (counts: Record<string, number>, test: (name: string) => boolean) =>
  Object.entries(counts).reduce((sum, [name, count]) => (test(name) ? sum + count : sum), 0);

/** Waits until Redis stops receiving commands (requests still in flight when the load stopped). */
export async function quiesce(client: Redis): Promise<Record<string, number>> {
  let last = await commandStats(client);
  for (let attempt = 0; attempt < 30; attempt++) {
    await sleep(100);
    const now = await commandStats(client);
    if (total(now) === total(last)) return now;
    last = now;
  }
  return last;
}

export function redisFigures(commands: Record<string, number>, before: ProbeSample, after: ProbeSample, requests: number): RedisFigures {
  const roundTrips = delta(after.redis, before.redis);
  const writes = after.redisWrites - before.redisWrites;
  const idempotencyRoundTrips = sumWhere(roundTrips, (name) => IDEMPOTENCY_ROUND_TRIP.test(name));
  const perRequest = (value: number) => (requests === 0 ? 0 : round(value / requests, 3));
  // The gateway ledger's charge: in PostgreSQL its INSERT (gateway-record-charge); in a build with
  // the ledger in Redis the HSETNX the service sends itself (Redis' count also has the order's key
  // index, an HSETNX inside the order's create script).
  const executions = (roundTrips.hsetnx ?? 0) + (delta(after.postgres ?? {}, before.postgres ?? {})['gateway-record-charge'] ?? 0);
  return {
    commands,
    roundTrips,
    transactionCommands: delta(after.redisTransactions, before.redisTransactions),
    writes,
    writesPerRequest: perRequest(writes),
    commandsPerRequest: perRequest(total(commands)),
    roundTripsPerRequest: perRequest(total(roundTrips)),
    scriptCallsPerRequest: perRequest(sumWhere(roundTrips, (name) => /^(evalsha|eval)(:|$)/.test(name))),
    idempotencyRoundTrips,
    idempotencyRoundTripsPerRequest: perRequest(idempotencyRoundTrips),
    executions,
    executionsPerRequest: perRequest(executions),
  };
}

export function eluBetween(before: ProbeSample, after: ProbeSample): number {
  const active = after.elu.active - before.elu.active;
  const idle = after.elu.idle - before.elu.idle;
  return active + idle === 0 ? 0 : round(active / (active + idle), 3);
}

/** PostgreSQL statements of a measured window, by label, as the probe counts them at the driver. */
export function postgresFigures(before: ProbeSample, after: ProbeSample, requests: number): PostgresFigures {
  const statements = delta(after.postgres ?? {}, before.postgres ?? {});
  return { statements, statementsPerRequest: requests === 0 ? 0 : round(total(statements) / requests, 3) };
}
