/**
 * One key requested by many clients while its one execution runs, as a burst and as steady load,
 * and the same loads with the same client against the floor server: what this machine and client
 * allow, since the service cannot answer faster than a server that does nothing else.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { round } from '../../scripts/lib/stats.js';
import type { AutocannonOutput, ContentionResult } from '../load.js';
import { settledSnapshot, type Snapshot, snapshot, statusCounts, storeFigures } from '../lib/measure.js';
import { type Context, emptyStore, ledgerCount, type LoadTarget, loadOptions, log, runLoad, setGatewayDelay, storeOf } from '../lib/processes.js';
import { DEFAULT_ADAPTER } from '../lib/sides.js';

const BURST_GATEWAY_DELAY_MS = 200;
const STEADY_SECONDS = 2;
/** Longer than the steady load: every answer in its window is a 409. */
const STEADY_GATEWAY_DELAY_MS = 3000;

export async function runContention(context: Context, round_: number) {
  const service = context.processes[DEFAULT_ADAPTER]!;
  const store = storeOf(context, DEFAULT_ADAPTER);
  const { contentionRequests: requests, connections } = context.options;
  log(`bench: contention r${round_}: ${requests} concurrent requests with one key, gateway delay ${BURST_GATEWAY_DELAY_MS} ms`);
  await emptyStore(store);
  try {
    await setGatewayDelay(service, BURST_GATEWAY_DELAY_MS);
    let before: Snapshot | undefined;
    const burst = await runBurst(`contention r${round_}`, service, requests, async () => void (before = await snapshot(store.client, service)));
    const { roundTripsPerRequest } = storeFigures(before!, await settledSnapshot(store.client, service), requests);
    log(`bench: contention steady r${round_}: ${connections} connections repeating one key for ${STEADY_SECONDS} s while it runs`);
    await setGatewayDelay(service, STEADY_GATEWAY_DELAY_MS);
    const steady = await runSteady(`contention steady r${round_}`, service, connections);
    // Let the one execution finish before the ledger is read.
    await sleep(STEADY_GATEWAY_DELAY_MS - STEADY_SECONDS * 1000 + 500);
    log(`bench: contention floor r${round_}: the same burst and steady load against the ${context.floor!.name}`);
    return {
      round: round_,
      burst: { ...burst, ledgerExecutions: await ledgerCount(service, burst.key), roundTripsPerRequest, gatewayDelayMs: BURST_GATEWAY_DELAY_MS },
      steady: { ...steady, ledgerExecutions: await ledgerCount(service, steady.key), gatewayDelayMs: STEADY_GATEWAY_DELAY_MS },
      floor: {
        burst: await runBurst(`contention floor r${round_}`, context.floor!, requests),
        steady: await runSteady(`contention floor steady r${round_}`, context.floor!, connections),
      },
    };
  } finally {
    await setGatewayDelay(service, 0);
  }
}

export type ContentionRun = Awaited<ReturnType<typeof runContention>>;

/** `requests` requests at once with one key (load.ts mode `contention`). */
async function runBurst(label: string, target: LoadTarget, requests: number, beforeGo?: () => Promise<void>): Promise<ContentionResult & { key: string }> {
  const load = loadOptions('contention', label, target, DEFAULT_ADAPTER, { requests, connections: requests });
  return { ...(await runLoad<ContentionResult>(load, beforeGo)), key: load.keyPrefix };
}

/** `connections` autocannon clients repeating one key for STEADY_SECONDS: autocannon's latency is the 409's. */
async function runSteady(label: string, target: LoadTarget, connections: number) {
  const load = loadOptions('cycle', label, target, DEFAULT_ADAPTER, { keyCount: 1, seconds: STEADY_SECONDS, connections });
  const { result } = await runLoad<AutocannonOutput>(load);
  const statuses = statusCounts(result);
  return {
    key: `${load.keyPrefix}-0`,
    statuses,
    conflictsPerSecond: round((statuses['409'] ?? 0) / result.duration, 0),
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}
