/** Redis, PostgreSQL and process figures of a measured window, from Redis' INFO commandstats and the probe. */
import type autocannon from 'autocannon';
import type { Redis } from 'ioredis';
import { round } from '../../scripts/lib/stats.js';
import { waitFor } from '../../test/harness/index.js';
import type { ProbedService, ProbeSample } from './processes.js';

/** Commands the bench's own client and the services' connection set-up send: not request work. */
const NOT_REQUEST_WORK = /^(info|flushall|flushdb|config\|.*|client\|.*|hello|select|ping|quit)$/;
/**
 * The idempotency layer's own round trips as the probe labels them: the store's scripts on a
 * record's lock (`idempotency:{…}:lock`; the events worker's consumed markers share the namespace
 * but take no lock) and Redlock's lock scripts.
 */
const IDEMPOTENCY_ROUND_TRIP = /^(evalsha|eval):([^#]*idempotency:\{\}:lock|acquireLock$|extendLock$|releaseLock$)/;

async function commandStats(client: Redis): Promise<Record<string, number>> {
  return Object.fromEntries(
    [...(await client.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map(([, name, count]) => [name, Number(count)]),
  );
}

function delta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const grown = Object.entries(after).map(([name, count]) => [name, count - (before[name] ?? 0)] as const);
  return Object.fromEntries(grown.filter(([name, count]) => count > 0 && !NOT_REQUEST_WORK.test(name)));
}

export const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
const sumWhere = (counts: Record<string, number>, test: (name: string) => boolean) =>
  sum(Object.entries(counts).map(([name, count]) => (test(name) ? count : 0)));

export async function snapshot(client: Redis, service: ProbedService) {
  return { commands: await commandStats(client), probe: await service.sample() };
}

export type Snapshot = Awaited<ReturnType<typeof snapshot>>;

/** After the load: once Redis stops receiving commands (requests still in flight when the load stopped). */
export async function settledSnapshot(client: Redis, service: ProbedService): Promise<Snapshot> {
  let last = -1;
  const quiet = async () => last === (last = sum(Object.values(await commandStats(client))));
  await waitFor('Redis receives no more commands', quiet, { timeoutMs: 3000, intervalMs: 100 }).catch(() => undefined);
  return snapshot(client, service);
}

/** What the service did in Redis and PostgreSQL between two snapshots, in all and per request. */
export function storeFigures(before: Snapshot, after: Snapshot, requests: number) {
  const commands = delta(after.commands, before.commands);
  const roundTrips = delta(after.probe.redis, before.probe.redis);
  const statements = delta(after.probe.postgres, before.probe.postgres);
  const perRequest = (value: number) => (requests === 0 ? 0 : round(value / requests, 3));
  // The gateway ledger's charge: its INSERT in PostgreSQL; in a build with the ledger in Redis, the HSETNX the service sends.
  const executions = (roundTrips.hsetnx ?? 0) + (statements['gateway-record-charge'] ?? 0);
  return {
    commands,
    roundTrips,
    statements,
    commandsPerRequest: perRequest(sum(Object.values(commands))),
    roundTripsPerRequest: perRequest(sum(Object.values(roundTrips))),
    writesPerRequest: perRequest(after.probe.redisWrites - before.probe.redisWrites),
    scriptCallsPerRequest: perRequest(sumWhere(roundTrips, (name) => /^(evalsha|eval)(:|$)/.test(name))),
    idempotencyRoundTripsPerRequest: perRequest(sumWhere(roundTrips, (name) => IDEMPOTENCY_ROUND_TRIP.test(name))),
    postgresStatementsPerRequest: perRequest(sum(Object.values(statements))),
    executions,
    executionsPerRequest: perRequest(executions),
  };
}

/** Event-loop utilisation and CPU time (all threads) per request of the service between two samples. */
export function processFigures(before: ProbeSample, after: ProbeSample, requests: number) {
  const active = after.elu.active - before.elu.active;
  const idle = after.elu.idle - before.elu.idle;
  return { elu: active + idle === 0 ? 0 : round(active / (active + idle), 3), cpuUsPerRequest: round((after.cpuUs - before.cpuUs) / Math.max(requests, 1), 0) };
}

/** Responses per second of an autocannon run. */
export const reqPerSec = (result: autocannon.Result) => round(result.requests.total / result.duration, 1);

/** Responses of an autocannon run by status. */
export const statusCounts = (result: autocannon.Result) =>
  Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([status, value]) => [status, value?.count ?? 0]));
