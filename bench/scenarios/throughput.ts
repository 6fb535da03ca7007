import { loadavg } from 'node:os';
import { round } from '../../tools/stats.js';
import type { LoadOptions } from '../load.js';
import { commandStats, delta, eluBetween, postgresFigures, quiesce, redisFigures } from '../lib/measure.js';
import type { ProbeSample, ProbedService } from '../lib/probed-service.js';
import { type AutocannonOutput, type Context, emptyDatabase, loadOptions, log, processOf, runLoad, storeOf } from '../lib/processes.js';
import { rowLabel } from '../lib/sides.js';
import type { Side, ThroughputRun, ThroughputScenario } from '../lib/types.js';
import { EventPathProbe } from './event-path.js';

const REPLAY_KEYS = 1000;
const MIXED_DUPLICATE_SHARE = 0.1;

/** The measured load of a scenario; it may first send load that is not measured (warming keys). */
type ScenarioLoad = (label: string, target: ProbedService, base: Pick<LoadOptions, 'seconds' | 'connections'>, round: number) => Promise<LoadOptions>;

const uniqueKeys: ScenarioLoad = async (label, target, base) => loadOptions('unique', label, target, base);

/**
 * The throughput scenarios: `--connections` clients for `--seconds`, every request to the charge
 * route. Which side runs which is bench/lib/sides.ts.
 */
export const SCENARIO_LOADS: Record<ThroughputScenario, ScenarioLoad> = {
  /** A new key per request on the build without the idempotency layer. */
  baseline: uniqueKeys,
  /** A new key per request: lock, execution, stored outcome. */
  fresh: uniqueKeys,
  /** REPLAY_KEYS keys answered once (not measured), then requested over and over: stored outcomes. */
  async replay(label, target, base) {
    const warm = loadOptions('sequence', `${label} warm`, target, { amount: REPLAY_KEYS, connections: base.connections });
    log(`bench: ${label}: warming ${REPLAY_KEYS} keys (one request each, not measured)`);
    const warmed = await runLoad<AutocannonOutput>(warm);
    if (warmed.result['2xx'] !== REPLAY_KEYS) throw new Error(`warming the replay keys: ${warmed.result['2xx']} of ${REPLAY_KEYS} answered 2xx`);
    return { ...warm, ...base, mode: 'cycle', label, keyCount: REPLAY_KEYS, amount: undefined };
  },
  /** New keys, and a share of repeats of recent ones (replays). */
  mixed: async (label, target, base, round_) => loadOptions('mixed', label, target, { ...base, duplicateShare: MIXED_DUPLICATE_SHARE, seed: round_ }),
};

/** One measured run of a throughput scenario on the side's process of this round. */
export async function runThroughput(context: Context, scenario: ThroughputScenario, side: Side, round_: number): Promise<ThroughputRun> {
  const { options } = context;
  const target = processOf(context, side);
  const { client } = storeOf(context, side);
  const row = rowLabel(scenario, side, options.ref);
  const label = `${row} r${round_}`;
  log(`bench: ${label}: ${options.seconds} s, ${options.connections} connections against ${target.name}`);
  // Every run starts from an empty Redis and empty tables: the same key space size for all scenarios and rounds.
  await client.flushall();
  const database = context.databases[side];
  if (database) await emptyDatabase(database);
  const load = await SCENARIO_LOADS[scenario](label, target, { seconds: options.seconds, connections: options.connections }, round_);
  if (options.leadInSeconds > 0) {
    // A process that sat idle while the other scenarios ran is slower for its first seconds (heap
    // grown back, the events consumer catching up): a transient, not what a request costs. New keys
    // get a prefix of their own, so the measured run's keys are still new.
    const keyPrefix = load.mode === 'cycle' ? load.keyPrefix : `${load.keyPrefix}-lead-in`;
    await runLoad({ ...load, label: `${label} lead-in`, keyPrefix, seconds: options.leadInSeconds });
  }

  // Issue 24: the outbox lag of fresh charges, and on the `worker` side the worker's CPU for their events.
  const events = scenario === 'fresh' && database ? new EventPathProbe(database.client, context.workers[side]) : undefined;
  let before: { stats: Record<string, number>; probe: ProbeSample } | undefined;
  const output = await runLoad<AutocannonOutput>(load, async () => {
    await events?.prepare();
    before = { stats: await commandStats(client), probe: await target.sample() };
    events?.startSampling();
  });
  await events?.loadEnded();
  const atEnd = await target.sample();
  const rss = target.rssFromProc() ?? atEnd.rss;
  const stats = await quiesce(client);
  const settled = await target.sample();

  const result = output.result;
  const statusCounts: Record<string, number> = {};
  for (const [status, value] of Object.entries(result.statusCodeStats ?? {})) statusCounts[status] = value?.count ?? 0;
  const requestsSent = result.requests.sent;
  const elu = eluBetween(before!.probe, atEnd);
  const loopUsPerRequest = round((1000 * (atEnd.elu.active - before!.probe.elu.active)) / Math.max(requestsSent, 1), 0);
  const cpuUsPerRequest = round((atEnd.cpuUs - before!.probe.cpuUs) / Math.max(requestsSent, 1), 0);
  const eventFigures = await events?.figures((atEnd.cpuUs - before!.probe.cpuUs) / Math.max(requestsSent, 1));
  if (eventFigures) {
    log(
      `bench: ${label}: outbox lag p99 ${eventFigures.lagP99S} s (max ${eventFigures.lagMaxS} s), ${eventFigures.published} events published, ` +
        `${eventFigures.consumed} consumed, drained ${eventFigures.drainMs ?? 'not'} ms after the load` +
        (eventFigures.workerCpuUsPerEvent === null
          ? ''
          : `; events worker ${eventFigures.workerCpuUsPerEvent} µs/event = ${round(100 * eventFigures.shareOfCharge!, 1)} % of a charge`),
    );
  }
  return {
    scenario,
    side,
    label: row,
    round: round_,
    durationS: result.duration,
    connections: options.connections,
    requestsSent,
    responses: result.requests.total,
    reqPerSec: round(result.requests.total / result.duration, 1),
    latencyMs: { p50: result.latency.p50, p97_5: result.latency.p97_5, p99: result.latency.p99, mean: result.latency.average, max: result.latency.max },
    statusCounts,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    perSecond: output.perSecond,
    redis: redisFigures(delta(stats, before!.stats), before!.probe, settled, requestsSent),
    postgres: postgresFigures(before!.probe, settled, requestsSent),
    ...(eventFigures && { events: eventFigures }),
    idempotencyRoundTripsPerRequest: null,
    idempotencyRoundTripsByBaselinePerRequest: null,
    roundTripsVsBaselinePerRequest: null,
    elu,
    loopUsPerRequest,
    cpuUsPerRequest,
    rssMB: round(rss / 2 ** 20, 1),
    heapUsedMB: round(atEnd.heapUsed / 2 ** 20, 1),
    loadAverage1m: round(loadavg()[0]!, 2),
  };
}
