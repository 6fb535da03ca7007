/** The throughput scenarios (baseline, fresh, replay, mixed, on every side), the checks before them, and the event path of fresh runs. */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { createPaymentsApi } from '@idempotent-payments/client';
import { percentile, round } from '../../scripts/lib/stats.js';
import { waitFor } from '../../test/harness/index.js';
import type { AutocannonOutput } from '../load.js';
import { processFigures, reqPerSec, settledSnapshot, type Snapshot, snapshot, statusCounts, storeFigures } from '../lib/measure.js';
import { API_KEY, type Context, emptyStore, loadOptions, log, type ProbedService, requestOf, runLoad, startSide, storeOf } from '../lib/processes.js';
import { isLayerSide, rowLabel, type Side, sideName, type ThroughputScenario } from '../lib/sides.js';

const REPLAY_KEYS = 1000;
const MIXED_DUPLICATE_SHARE = 0.1;

/** The measured load of a scenario; replay first warms its keys (not measured). */
export async function scenarioLoad(context: Context, scenario: ThroughputScenario, label: string, target: ProbedService, side: Side, round_: number) {
  const base = { seconds: context.options.seconds, connections: context.options.connections };
  if (scenario === 'mixed') return loadOptions('mixed', label, target, side, { ...base, duplicateShare: MIXED_DUPLICATE_SHARE, seed: round_ });
  if (scenario !== 'replay') return loadOptions('unique', label, target, side, base);
  const warm = loadOptions('unique', `${label} warm`, target, side, { amount: REPLAY_KEYS, connections: base.connections });
  log(`bench: ${label}: warming ${REPLAY_KEYS} keys (one request each, not measured)`);
  const { result } = await runLoad<AutocannonOutput>(warm);
  if (result['2xx'] !== REPLAY_KEYS) throw new Error(`warming the replay keys: ${result['2xx']} of ${REPLAY_KEYS} answered 2xx`);
  return { ...warm, ...base, mode: 'cycle' as const, label, keyCount: REPLAY_KEYS, amount: undefined };
}

/** Before measuring: the baseline really has no idempotency layer, every service side really has one. */
export async function sanityChecks(context: Context): Promise<string[]> {
  const checks: string[] = [];
  for (const [side, service] of Object.entries(context.processes) as Array<[Side, ProbedService]>) {
    const name = sideName(side, context.options.ref);
    const api = createPaymentsApi(service.baseUrl, { headers: { Authorization: `Bearer ${API_KEY}` } });
    const key = `sanity-${name.replace(/\s+/g, '-')}-${randomBytes(4).toString('hex')}`;
    const request = { params: { header: { 'Idempotency-Key': key } }, body: JSON.parse(requestOf(side).body) };
    const charge = async () => {
      const { data, response } = await api.POST('/api/payments/charge', request);
      return { status: response.status, cached: response.headers.get('idempotency-cached'), location: response.headers.get('location'), id: data?.id };
    };
    const [first, second] = [await charge(), await charge()];
    const created = first.status === 201 && second.status === 201;
    // The baseline's middleware marks the route's answers Idempotency-Cached: false; only the interceptor replays.
    const bypassed = created && first.location === `/api/payments/${first.id}` && second.cached !== 'true';
    const replayed = created && first.cached === 'false' && second.cached === 'true' && first.id === second.id;
    const [passed, check] =
      side === 'baseline'
        ? [bypassed, 'baseline: 201 with Location twice with one key, the second not a replay (the interceptor is bypassed)']
        : [replayed, `service (${name}): 201 Idempotency-Cached: false, then 201 Idempotency-Cached: true with the same charge id`];
    if (!passed) throw new Error(`sanity check of ${name} failed: ${JSON.stringify([first, second])}`);
    log(`bench: check ok: ${check}`);
    checks.push(check);
  }
  return checks;
}

/** Unmeasured load on a new process (JIT, connection pools), then its store emptied. */
export async function warmUp(context: Context, side: Side, service: ProbedService): Promise<void> {
  const { warmupSeconds: seconds, connections } = context.options;
  if (seconds === 0) return;
  log(`bench: warming up ${service.name} for ${seconds} s (not measured)`);
  await runLoad(loadOptions('unique', `warm-up ${service.name}`, service, side, { seconds, connections }));
  await emptyStore(storeOf(context, side));
}

/** One measured run of a scenario on a side: its round's process, or for a layer side a process started for the run. */
export async function runThroughput(context: Context, scenario: ThroughputScenario, side: Side, round_: number) {
  const { options } = context;
  const store = storeOf(context, side);
  const target = context.processes[side] ?? (await startSide(context, side, `r${round_}`));
  try {
    if (isLayerSide(side)) await warmUp(context, side, target);
    const row = rowLabel(scenario, side, options.ref);
    const label = `${row} r${round_}`;
    log(`bench: ${label}: ${options.seconds} s, ${options.connections} connections against ${target.name}`);
    await emptyStore(store);
    const load = await scenarioLoad(context, scenario, label, target, side, round_);
    if (options.leadInSeconds > 0) {
      // A process that sat idle while the others ran is slower for its first seconds: a transient,
      // not what a request costs. New keys get a prefix of their own, so the measured ones are still new.
      const keyPrefix = load.mode === 'cycle' ? load.keyPrefix : `${load.keyPrefix}-lead-in`;
      await runLoad({ ...load, label: `${label} lead-in`, keyPrefix, seconds: options.leadInSeconds });
    }
    const measuresEvents = scenario === 'fresh' && store.database && !isLayerSide(side);
    const events = measuresEvents ? eventPath(store.database!.client, side === 'worker' ? context.worker : undefined) : undefined;
    let before: Snapshot | undefined;
    const { result, perSecond } = await runLoad<AutocannonOutput>(load, async () => {
      await events?.start();
      before = await snapshot(store.client, target);
    });
    await events?.stop();
    const [requests, atEnd, rssMB] = [result.requests.sent, await target.sample(), round(target.rss() / 2 ** 20, 1)];
    const storeAtEnd = await settledSnapshot(store.client, target);
    const figures = processFigures(before!.probe, atEnd, requests);
    const eventFigures = await events?.figures(figures.cpuUsPerRequest);
    const run = {
      scenario,
      side,
      label: row,
      round: round_,
      requests,
      reqPerSec: reqPerSec(result),
      latencyMs: { p50: result.latency.p50, p97_5: result.latency.p97_5, p99: result.latency.p99 },
      statusCounts: statusCounts(result),
      errors: result.errors,
      timeouts: result.timeouts,
      perSecond,
      store: storeFigures(before!, storeAtEnd, requests),
      ...figures,
      rssMB,
      ...(eventFigures && { events: eventFigures }),
      loadAverage1m: round(loadavg()[0]!, 2),
    };
    const eventLog = eventFigures
      ? `; outbox lag p99 ${eventFigures.lagP99S} s, ${eventFigures.published} events, drained after ${eventFigures.drainMs} ms`
      : '';
    log(
      `bench: ${label}: ${run.reqPerSec} req/s, p99 ${run.latencyMs.p99} ms, ${run.store.roundTripsPerRequest} round trips/req, CPU ${run.cpuUsPerRequest} µs/req${eventLog}`,
    );
    return run;
  } finally {
    if (isLayerSide(side)) await target.stop();
  }
}

export type ThroughputRun = Awaited<ReturnType<typeof runThroughput>>;

/** The age of the oldest event still waiting in the outbox, 0 when none waits: what readiness and payments_outbox_lag_seconds report. */
const LAG = `SELECT coalesce(extract(epoch FROM clock_timestamp() - min(occurred_at)), 0)::float8 AS lag FROM payment_events WHERE published_at IS NULL`;
/** Events published, those still waiting in the outbox, successes and those still waiting for their receipt. */
const COUNTS = `SELECT count(*) FILTER (WHERE published_at IS NOT NULL)::int AS published, count(*) FILTER (WHERE published_at IS NULL)::int AS unpublished,
  count(*) FILTER (WHERE type = 'payment.succeeded')::int AS succeeded,
  count(*) FILTER (WHERE type = 'payment.succeeded' AND NOT EXISTS (SELECT 1 FROM receipts r WHERE r.event_id = e.id))::int AS unconsumed
  FROM payment_events e`;
type Counts = Record<'published' | 'unpublished' | 'succeeded' | 'unconsumed', number>;

/**
 * The event path of a fresh run, read by the bench's own connection to the side's database: the
 * outbox lag sampled every 100 ms during the window (independently of the relay, whose gauge it
 * refreshes itself), and with the events worker apart, its CPU until the window's events are
 * relayed and consumed.
 */
function eventPath(client: pg.Client, worker: ProbedService | undefined) {
  const samples: number[] = [];
  let sampling: Promise<void> | undefined;
  let stopped = false;
  let before: { counts: Counts; workerCpuUs: number | null };
  const counts = async () => (await client.query<Counts>(COUNTS)).rows[0]!;
  /** Until the outbox is empty and every success has its receipt. */
  const drain = async () => {
    const started = Date.now();
    let current = await counts();
    const drained = await waitFor(
      'the outbox is empty and every success has its receipt',
      async () => ((current = await counts()), current.unpublished === 0 && current.unconsumed === 0),
      { timeoutMs: 60_000, intervalMs: 50 },
    ).then(
      () => true,
      () => false,
    );
    return { counts: current, drainMs: drained ? Date.now() - started : null };
  };
  return {
    /** With the worker apart, the lead-in's events are drained first, so its CPU from here on is the window's events. */
    async start() {
      before = { counts: worker ? (await drain()).counts : await counts(), workerCpuUs: worker ? (await worker.sample()).cpuUs : null };
      sampling = (async () => {
        while (!stopped) {
          samples.push((await client.query<{ lag: number }>(LAG)).rows[0]?.lag ?? 0);
          await sleep(100);
        }
      })();
    },
    async stop() {
      stopped = true;
      await sampling;
    },
    async figures(serviceCpuUsPerRequest: number) {
      const { counts: after, drainMs } = await drain();
      const published = after.published - before.counts.published;
      const workerCpuUs = worker && before.workerCpuUs !== null ? (await worker.sample()).cpuUs - before.workerCpuUs : null;
      const perEvent = workerCpuUs !== null && published > 0 ? workerCpuUs / published : null;
      return {
        lagSamplesS: samples.map((lag) => round(lag, 3)),
        lagP99S: percentile(samples, 99, 3),
        published,
        consumed: after.succeeded - after.unconsumed - (before.counts.succeeded - before.counts.unconsumed),
        drainMs,
        workerCpuUsPerEvent: perEvent === null ? null : round(perEvent, 0),
        shareOfCharge: perEvent === null || serviceCpuUsPerRequest <= 0 ? null : round(perEvent / serviceCpuUsPerRequest, 4),
      };
    },
  };
}
