/**
 * The contention scenario: one key requested by many clients at once while its one execution runs,
 * as a burst and as steady load, and the same loads against the floor server for comparison.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContentionResult } from '../load.js';
import { commandStats, delta, quiesce, redisFigures } from '../lib/measure.js';
import type { ProbeSample } from '../lib/probed-service.js';
import { admin, type AutocannonOutput, type Context, type LoadTarget, loadOptions, log, processOf, runLoad, storeOf } from '../lib/processes.js';
import { type ContentionRun, DEFAULT_ADAPTER, type FloorContention, type SteadyContention } from '../lib/types.js';
import { round } from '../../tools/stats.js';

const CONTENTION_DELAY_MS = 200;
const STEADY_SECONDS = 2;
const STEADY_DELAY_MS = 3000;

/** On the service on the default adapter. */
export async function runContention(context: Context, round_: number): Promise<ContentionRun> {
  const service = processOf(context, DEFAULT_ADAPTER);
  const { client } = storeOf(context, DEFAULT_ADAPTER);
  const requests = context.options.contentionRequests;
  log(`bench: contention r${round_}: ${requests} concurrent requests with one key, gateway delay ${CONTENTION_DELAY_MS} ms`);
  await client.flushall();
  await admin(service, 'PUT', '/api/admin/payment-behavior', { minDelayMs: CONTENTION_DELAY_MS, maxDelayMs: CONTENTION_DELAY_MS });
  try {
    let before: { stats: Record<string, number>; probe: ProbeSample } | undefined;
    const { key, result } = await runBurst(`contention r${round_}`, service, requests, async () => {
      before = { stats: await commandStats(client), probe: await service.sample() };
    });
    const stats = await quiesce(client);
    const after = await service.sample();
    const ledger = (await admin(service, 'GET', `/api/admin/provider/charges?idempotencyKey=${encodeURIComponent(key)}`)) as { charges?: unknown[] };
    const commands = delta(stats, before!.stats);
    const figures = redisFigures(commands, before!.probe, after, requests);
    const { kind: _kind, ...measured } = result;
    const steady = await runSteadyContention(context, round_);
    const floor = await runFloorContention(context, round_);
    return {
      round: round_,
      ...measured,
      steady,
      floor,
      ledgerExecutions: Array.isArray(ledger.charges) ? ledger.charges.length : null,
      gatewayCharges: figures.executions,
      redis: {
        commands: figures.commands,
        roundTrips: figures.roundTrips,
        transactionCommands: figures.transactionCommands,
        writesPerRequest: figures.writesPerRequest,
        commandsPerRequest: figures.commandsPerRequest,
        roundTripsPerRequest: figures.roundTripsPerRequest,
      },
      gatewayDelayMs: CONTENTION_DELAY_MS,
    };
  } finally {
    await admin(service, 'PUT', '/api/admin/payment-behavior', { minDelayMs: 0, maxDelayMs: 0 });
  }
}

/** The contention burst: `requests` requests at once with one key (load.ts mode `contention`). */
async function runBurst(
  label: string,
  target: LoadTarget,
  requests: number,
  beforeGo?: () => Promise<void>,
): Promise<{ key: string; result: ContentionResult }> {
  const load = loadOptions('contention', label, target, { requests, connections: requests });
  return { key: load.keyPrefix, result: await runLoad<ContentionResult>(load, beforeGo) };
}

/** The steady load: `connections` autocannon clients repeating one key for STEADY_SECONDS. */
async function runSteadyLoad(
  label: string,
  target: LoadTarget,
  connections: number,
): Promise<{ key: string } & Pick<SteadyContention, 'statuses' | 'conflictsPerSecond' | 'latencyMs'>> {
  const load = loadOptions('cycle', label, target, { keyCount: 1, seconds: STEADY_SECONDS, connections });
  const { result } = await runLoad<AutocannonOutput>(load);
  const statuses: Record<string, number> = {};
  for (const [status, value] of Object.entries(result.statusCodeStats ?? {})) statuses[status] = value?.count ?? 0;
  return {
    key: `${load.keyPrefix}-0`,
    statuses,
    conflictsPerSecond: round((statuses['409'] ?? 0) / result.duration, 0),
    latencyMs: { p50: result.latency.p50, p97_5: result.latency.p97_5, p99: result.latency.p99, mean: result.latency.average, max: result.latency.max },
  };
}

/**
 * The same question at an ordinary concurrency: `--connections` clients send one key over and over
 * for 2 s while its one execution runs (gateway delay 3 s), so every answer in the window is a 409;
 * autocannon's latency is then the 409's. Its ledger must hold one charge for the key too.
 */
async function runSteadyContention(context: Context, round_: number): Promise<SteadyContention> {
  const service = processOf(context, DEFAULT_ADAPTER);
  const { connections } = context.options;
  const label = `contention steady r${round_}`;
  log(`bench: ${label}: ${connections} connections repeating one key for ${STEADY_SECONDS} s while its execution runs (gateway delay ${STEADY_DELAY_MS} ms)`);
  await admin(service, 'PUT', '/api/admin/payment-behavior', { minDelayMs: STEADY_DELAY_MS, maxDelayMs: STEADY_DELAY_MS });
  const { key, ...measured } = await runSteadyLoad(label, service, connections);
  // Let the one execution finish before the ledger is read and the delay reset.
  await sleep(STEADY_DELAY_MS - STEADY_SECONDS * 1000 + 500);
  const ledger = (await admin(service, 'GET', `/api/admin/provider/charges?idempotencyKey=${encodeURIComponent(key)}`)) as { charges?: unknown[] };
  return {
    connections,
    seconds: STEADY_SECONDS,
    gatewayDelayMs: STEADY_DELAY_MS,
    ...measured,
    ledgerExecutions: Array.isArray(ledger.charges) ? ledger.charges.length : null,
  };
}

/**
 * The floor: the same burst and the same steady load, with the same client, against
 * bench/floor-server.mjs, which answers every request with the service's 409 and does nothing
 * else. Its latency is what the machine and the client cost; the service cannot answer faster.
 */
async function runFloorContention(context: Context, round_: number): Promise<FloorContention> {
  const floor = context.floor!;
  const { connections, contentionRequests: requests } = context.options;
  log(
    `bench: contention floor r${round_}: the same burst (${requests} requests) and steady load (${connections} connections, ${STEADY_SECONDS} s) against the ${floor.name}`,
  );
  const { result: burst } = await runBurst(`contention floor r${round_}`, floor, requests);
  const steady = await runSteadyLoad(`contention floor steady r${round_}`, floor, connections);
  return {
    burst: { statuses: burst.statuses, p50: burst.conflicts.p50, p99: burst.conflicts.p99, conflictsPerSecond: burst.conflictsPerSecond, wallMs: burst.wallMs },
    steady: { statuses: steady.statuses, p50: steady.latencyMs.p50, p99: steady.latencyMs.p99, conflictsPerSecond: steady.conflictsPerSecond },
  };
}
