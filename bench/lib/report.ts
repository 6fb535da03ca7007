/** What a run reports: summaries over rounds, the targets, the README table, the chart files and the console summary. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, percentile, round } from '../../tools/stats.js';
import { renderChart } from './chart.js';
import { BENCH_DIR, RESULTS_DIR } from './paths.js';
import { rowLabel, sideName } from './sides.js';
import type { BenchResult, ProfiledRun, ContentionRun, ContentionSummary, ScenarioSummary, TargetResult, ThroughputRun, ThroughputScenario } from './types.js';
import { DEFAULT_ADAPTER, PROFILED_SCENARIOS } from './types.js';

const README = join(BENCH_DIR, 'README.md');
const MARKER_START = '<!-- results:start -->';
const MARKER_END = '<!-- results:end -->';

function medianOrNull(values: Array<number | null>): number | null {
  const present = values.filter((value): value is number => value !== null && Number.isFinite(value));
  return present.length === 0 ? null : median(present);
}

/**
 * The baseline is this build on the default adapter: figures relative to it are taken for the rows
 * of the same build and adapter only (another adapter or the ref's build differs in more than the
 * idempotency layer; those compare to the ref).
 */
const comparesToBaseline = (run: Pick<ThroughputRun, 'side'>) => run.side === DEFAULT_ADAPTER;

/**
 * The idempotency layer's round trips per request (counted by name), and the cross-checks that
 * need the same round's baseline: all round trips minus executions × the baseline's round trips
 * per execution, and the plain difference.
 */
export function attributeRoundTrips(runs: ThroughputRun[]): void {
  for (const run of runs) {
    run.idempotencyRoundTripsPerRequest = run.redis.idempotencyRoundTripsPerRequest;
    const baseline = runs.find((other) => other.scenario === 'baseline' && other.round === run.round);
    if (run.scenario === 'baseline') {
      run.idempotencyRoundTripsByBaselinePerRequest = 0;
      run.roundTripsVsBaselinePerRequest = 0;
      continue;
    }
    if (!comparesToBaseline(run) || !baseline || baseline.redis.executions === 0 || run.requestsSent === 0) continue;
    const businessPerExecution = sum(Object.values(baseline.redis.roundTrips)) / baseline.redis.executions;
    const total = sum(Object.values(run.redis.roundTrips));
    run.idempotencyRoundTripsByBaselinePerRequest = round((total - run.redis.executions * businessPerExecution) / run.requestsSent, 3);
    run.roundTripsVsBaselinePerRequest = round(run.redis.roundTripsPerRequest - baseline.redis.roundTripsPerRequest, 3);
  }
}

/** The summary of each row (scenario and side), in the order the rows ran. */
export function summarizeScenarios(runs: ThroughputRun[]): ScenarioSummary[] {
  const rows = [...new Map(runs.map((run) => [run.label, run])).values()];
  return rows.map(({ scenario, side, label }) => {
    const own = runs.filter((run) => run.label === label);
    const non2xx: Record<string, number> = {};
    for (const run of own) {
      for (const [status, count] of Object.entries(run.statusCounts)) {
        if (!status.startsWith('2')) non2xx[status] = (non2xx[status] ?? 0) + count;
      }
      if (run.errors > 0) non2xx.errors = (non2xx.errors ?? 0) + run.errors;
      if (run.timeouts > 0) non2xx.timeouts = (non2xx.timeouts ?? 0) + run.timeouts;
    }
    const sameRound = (run: ThroughputRun, test: (other: ThroughputRun) => boolean) => runs.find((other) => other.round === run.round && test(other));
    const vsBaseline = own.flatMap((run) => {
      const baseline = sameRound(run, (other) => other.scenario === 'baseline');
      if (!baseline || !comparesToBaseline(run)) return [];
      return [
        {
          round: run.round,
          reqPerSec: round(run.reqPerSec / baseline.reqPerSec, 3),
          p99: round(run.latencyMs.p99 / baseline.latencyMs.p99, 3),
          loopUs: round(run.loopUsPerRequest / baseline.loopUsPerRequest, 3),
          cpuUs: round(run.cpuUsPerRequest / baseline.cpuUsPerRequest, 3),
        },
      ];
    });
    const vsRef = own.flatMap((run) => {
      const ref = sameRound(run, (other) => other.scenario === scenario && other.side === 'ref');
      if (!ref || side === 'ref') return [];
      return [{ round: run.round, reqPerSec: round(run.reqPerSec / ref.reqPerSec, 3), cpuUs: round(run.cpuUsPerRequest / ref.cpuUsPerRequest, 3) }];
    });
    const medianOf = (pick: (run: ThroughputRun) => number, digits: number) => round(median(own.map(pick)), digits);
    return {
      scenario,
      side,
      label,
      rounds: own.length,
      reqPerSec: medianOf((run) => run.reqPerSec, 0),
      latencyMs: {
        p50: medianOf((run) => run.latencyMs.p50, 1),
        p97_5: medianOf((run) => run.latencyMs.p97_5, 1),
        p99: medianOf((run) => run.latencyMs.p99, 1),
      },
      non2xx,
      commandsPerRequest: medianOf((run) => run.redis.commandsPerRequest, 3),
      roundTripsPerRequest: medianOf((run) => run.redis.roundTripsPerRequest, 3),
      writesPerRequest: medianOf((run) => run.redis.writesPerRequest, 3),
      idempotencyRoundTripsPerRequest: medianOrNull(own.map((run) => run.idempotencyRoundTripsPerRequest)),
      idempotencyRoundTripsByBaselinePerRequest: medianOrNull(own.map((run) => run.idempotencyRoundTripsByBaselinePerRequest)),
      scriptCallsPerRequest: medianOf((run) => run.redis.scriptCallsPerRequest, 3),
      executionsPerRequest: medianOf((run) => run.redis.executionsPerRequest, 3),
      postgresStatementsPerRequest: medianOf((run) => run.postgres?.statementsPerRequest ?? 0, 3),
      elu: medianOf((run) => run.elu, 3),
      loopUsPerRequest: medianOf((run) => run.loopUsPerRequest, 0),
      cpuUsPerRequest: medianOf((run) => run.cpuUsPerRequest, 0),
      rssMB: round(own.at(-1)!.rssMB, 1),
      ...eventsSummary(own, runs),
      vsBaseline:
        vsBaseline.length === 0
          ? null
          : {
              reqPerSec: round(median(vsBaseline.map((r) => r.reqPerSec)), 3),
              p99: round(median(vsBaseline.map((r) => r.p99)), 3),
              loopUs: round(median(vsBaseline.map((r) => r.loopUs)), 3),
              cpuUs: round(median(vsBaseline.map((r) => r.cpuUs)), 3),
              perRound: vsBaseline,
            },
      vsRef:
        vsRef.length === 0
          ? null
          : {
              reqPerSec: round(median(vsRef.map((r) => r.reqPerSec)), 3),
              cpuUs: round(median(vsRef.map((r) => r.cpuUs)), 3),
              perRound: vsRef,
            },
    };
  });
}

/** Issue 24: the event path's figures of a row's fresh runs (see ScenarioSummary.events); nothing for other rows. */
function eventsSummary(own: ThroughputRun[], runs: ThroughputRun[]): Pick<ScenarioSummary, 'events'> {
  const withEvents = own.filter((run) => run.events);
  if (withEvents.length === 0) return {};
  const samples = withEvents.flatMap((run) => run.events!.lagSamplesS);
  const drains = withEvents.map((run) => run.events!.drainMs);
  const inProcess = own.flatMap((run) => {
    const apart = run.side === DEFAULT_ADAPTER && runs.find((other) => other.round === run.round && other.scenario === run.scenario && other.side === 'worker');
    return apart && apart.cpuUsPerRequest > 0 ? [run.cpuUsPerRequest / apart.cpuUsPerRequest - 1] : [];
  });
  const rounded = (value: number | null, digits: number) => (value === null ? null : round(value, digits));
  return {
    events: {
      lagP99S: percentile(samples, 99, 3),
      lagMaxS: samples.length === 0 ? null : round(Math.max(...samples), 3),
      drainMsMax: drains.some((drain) => drain === null) ? null : Math.max(...(drains as number[])),
      eventCpuUs: rounded(medianOrNull(withEvents.map((run) => run.events!.workerCpuUsPerEvent)), 0),
      shareOfCharge: rounded(medianOrNull(withEvents.map((run) => run.events!.shareOfCharge)), 4),
      inProcessShare: rounded(medianOrNull(inProcess), 4),
    },
  };
}

export function summarizeContention(runs: ContentionRun[]): ContentionSummary | null {
  if (runs.length === 0) return null;
  return {
    rounds: runs.length,
    executionsPerRound: runs.map((run) => run.ledgerExecutions),
    conflictP50Ms: medianOrNull(runs.map((run) => run.conflicts.p50)),
    conflictP99Ms: medianOrNull(runs.map((run) => run.conflicts.p99)),
    whileRunningP99Ms: medianOrNull(runs.map((run) => run.conflictsWhileRunning.p99)),
    conflictsWhileRunning: sum(runs.map((run) => run.conflictsWhileRunning.count)),
    conflicts: sum(runs.map((run) => run.conflicts.count)),
    replays: sum(runs.map((run) => run.replays)),
    freshLatencyMs: medianOrNull(runs.map((run) => run.freshLatencyMs)),
    roundTripsPerRequest: round(median(runs.map((run) => run.redis.roundTripsPerRequest)), 3),
    steadyExecutionsPerRound: runs.map((run) => run.steady.ledgerExecutions),
    steadyP50Ms: medianOrNull(runs.map((run) => run.steady.latencyMs.p50)),
    steadyP99Ms: medianOrNull(runs.map((run) => run.steady.latencyMs.p99)),
    floor: {
      burstP50Ms: medianOrNull(runs.map((run) => run.floor.burst.p50)),
      burstP99Ms: medianOrNull(runs.map((run) => run.floor.burst.p99)),
      burstConflictsPerSecond: medianOrNull(runs.map((run) => run.floor.burst.conflictsPerSecond)),
      burstWallMs: medianOrNull(runs.map((run) => run.floor.burst.wallMs)),
      burstP99Ratio: medianRatio(runs.map((run) => [run.conflictsWhileRunning.p99, run.floor.burst.p99])),
      steadyP50Ms: medianOrNull(runs.map((run) => run.floor.steady.p50)),
      steadyP99Ms: medianOrNull(runs.map((run) => run.floor.steady.p99)),
      steadyConflictsPerSecond: medianOrNull(runs.map((run) => run.floor.steady.conflictsPerSecond)),
      steadyP99Ratio: medianRatio(runs.map((run) => [run.steady.latencyMs.p99, run.floor.steady.p99])),
    },
  };
}

/** A service ÷ floor ratio as "7.5×" ("–" when not measured). */
export function formatRatio(ratio: number | null | undefined): string {
  return ratio === null || ratio === undefined || !Number.isFinite(ratio) ? '–' : `${ratio.toFixed(1)}×`;
}

/** The median of per-round ratios service ÷ floor (rounds where either is missing or the floor is 0 left out). */
function medianRatio(pairs: Array<[number | null, number | null]>): number | null {
  const ratio = medianOrNull(pairs.map(([service, floor]) => (service === null || floor === null || floor <= 0 ? null : service / floor)));
  return ratio === null ? null : round(ratio, 2);
}

/**
 * Issue 23's bounds on PostgreSQL as the system of record, against `--ref 053e3c3` (records in
 * Redis): a fresh charge may cost 10 % more CPU than there, a replay (Redis only) no more.
 */
const REF_CPU_TARGET = { fresh: 1.1, replay: 1.0 } as const;
/** Issue 23: RSS after the soak within +15 % of RSS after its first 10 s (pools, prepared statements and caches bounded). */
const SOAK_RSS_TARGET = 1.15;
/** Issue 24: the outbox lag's p99 under the fresh load, seconds (below). */
const OUTBOX_LAG_P99_TARGET_S = 1;
/** Issue 24: relaying and consuming an event, as a share of a charge's CPU (at most). */
const EVENT_CPU_SHARE_TARGET = 0.1;

/**
 * The targets of issues 7 (what the layer may cost against the baseline), 14 (the 409 burst
 * against the floor) and 23 (the service against `--ref 053e3c3`, the soak), as PASS / FAIL / SKIP lines, and
 * after each 409-p99 target the floor as an INFO line. They are about the default adapter.
 */
export function evaluateTargets(result: Pick<BenchResult, 'summary' | 'soak' | 'options'>): TargetResult[] {
  const targets: TargetResult[] = [];
  const { ref } = result.options;
  const scenario = (name: ThroughputScenario) =>
    result.summary.scenarios.find((summary) => summary.scenario === name && summary.side === (name === 'baseline' ? 'baseline' : DEFAULT_ADAPTER));
  const row = (name: ThroughputScenario) => rowLabel(name, DEFAULT_ADAPTER, ref);
  const check = (
    name: string,
    value: number | null | undefined,
    ok: (value: number) => boolean,
    target: string,
    format: (value: number) => string,
    missing = 'not measured',
  ) => {
    if (value === null || value === undefined || !Number.isFinite(value)) targets.push({ name, status: 'SKIP', value: missing, target });
    else targets.push({ name, status: ok(value) ? 'PASS' : 'FAIL', value: format(value), target });
  };
  const fixed = (digits: number) => (value: number) => value.toFixed(digits);
  const times = (of: string) => (value: number) => `${value.toFixed(2)} × ${of}`;
  /** Not a target: the floor measured in the same run, to read the 409 p99 line above it by. Left out when not measured. */
  const floorInfo = (scenario: string, floorP99: number | null | undefined, ratio: number | null | undefined) => {
    if (floorP99 === null || floorP99 === undefined) return;
    targets.push({
      name: `${scenario}: floor on this machine (bare node:http answering a fixed 409, same client)`,
      status: 'INFO',
      value: `409 p99 ${floorP99.toFixed(1)} ms; service ÷ floor ${formatRatio(ratio)}`,
      target: '',
    });
  };

  check(
    `${row('replay')}: idempotency round trips per request`,
    scenario('replay')?.idempotencyRoundTripsPerRequest,
    (v) => Math.abs(v - 1) <= 0.01,
    '= 1',
    fixed(2),
  );
  check(`${row('fresh')}: idempotency round trips per request`, scenario('fresh')?.idempotencyRoundTripsPerRequest, (v) => v > 0 && v <= 3.01, '≤ 3', fixed(2));
  check(`${row('fresh')}: requests/s`, scenario('fresh')?.vsBaseline?.reqPerSec, (v) => v >= 0.85, '≥ 0.85 × baseline', times('baseline'));
  check(`${row('fresh')}: p99 latency`, scenario('fresh')?.vsBaseline?.p99, (v) => v <= 1.25, '≤ 1.25 × baseline', times('baseline'));
  check(`${row('replay')}: requests/s`, scenario('replay')?.vsBaseline?.reqPerSec, (v) => v >= 1.3, '≥ 1.3 × baseline', times('baseline'));
  const refName = ref ? sideName('ref', ref) : 'ref';
  for (const name of ['fresh', 'replay'] as const) {
    check(
      `${row(name)}: CPU per request`,
      scenario(name)?.vsRef?.cpuUs,
      (v) => v <= REF_CPU_TARGET[name],
      `≤ ${REF_CPU_TARGET[name].toFixed(2)} × ${refName}`,
      times(refName),
      ref ? 'not measured' : 'not measured (run with --ref 053e3c3)',
    );
  }
  /** Charges per round for one key: 1 in every round, or not measured when a round has no count. */
  const onePerRound = (name: string, executions: Array<number | null> | undefined) =>
    check(
      name,
      executions && executions.length > 0 && executions.every((count) => count !== null) ? Math.max(...(executions as number[])) : null,
      () => executions!.every((count) => count === 1),
      '1 in every round',
      () => executions!.join(', '),
    );
  const contention = result.summary.contention;
  onePerRound('contention: executions per burst', contention?.executionsPerRound);
  check(
    'contention: 409 p99 while the execution runs',
    contention?.whileRunningP99Ms,
    (v) => v <= 20,
    '≤ 20 ms',
    (v) => `${v.toFixed(1)} ms`,
  );
  floorInfo('contention', contention?.floor?.burstP99Ms, contention?.floor?.burstP99Ratio);
  check('contention: 409 p99 while the execution runs, against the floor', contention?.floor?.burstP99Ratio, (v) => v <= 2, '≤ 2 × floor', times('floor'));
  onePerRound('contention (steady, one key at --connections): executions', contention?.steadyExecutionsPerRound);
  check(
    'contention (steady, one key at --connections): 409 p99',
    contention?.steadyP99Ms,
    (v) => v <= 20,
    '≤ 20 ms',
    (v) => `${v.toFixed(1)} ms`,
  );
  floorInfo('contention (steady, one key at --connections)', contention?.floor?.steadyP99Ms, contention?.floor?.steadyP99Ratio);
  const workerRow = result.summary.scenarios.find((summary) => summary.scenario === 'fresh' && summary.side === 'worker');
  const percent = (value: number) => `${(100 * value).toFixed(1)} %`;
  check(
    `${row('fresh')}: outbox lag (oldest unpublished event) p99`,
    scenario('fresh')?.events?.lagP99S,
    (v) => v < OUTBOX_LAG_P99_TARGET_S,
    `< ${OUTBOX_LAG_P99_TARGET_S} s`,
    (v) => `${(1000 * v).toFixed(0)} ms (max ${(1000 * (scenario('fresh')?.events?.lagMaxS ?? 0)).toFixed(0)} ms)`,
  );
  check(
    `${workerRow?.label ?? 'fresh (events worker apart)'}: relaying and consuming an event, CPU of the events worker per event ÷ the service's CPU per charge`,
    workerRow?.events?.shareOfCharge,
    (v) => v <= EVENT_CPU_SHARE_TARGET,
    `≤ ${percent(EVENT_CPU_SHARE_TARGET)} of a charge`,
    (v) => `${percent(v)} (${formatFigure(workerRow?.events?.eventCpuUs, 0)} µs per event, ${formatFigure(workerRow?.cpuUsPerRequest, 0)} µs per charge)`,
  );
  const inProcess = scenario('fresh')?.events?.inProcessShare;
  if (inProcess !== null && inProcess !== undefined) {
    targets.push({
      name: `${row('fresh')}: cross-check, the service's CPU per request with the event path in process over ${workerRow?.label}'s service without it, minus 1`,
      status: 'INFO',
      value: percent(inProcess),
      target: '',
    });
  }
  if (result.options.quick || !result.soak) {
    targets.push({
      name: 'fresh soak: RSS growth',
      status: 'SKIP',
      value: result.options.quick ? 'skipped (--quick)' : 'not measured',
      target: `≤ ${SOAK_RSS_TARGET.toFixed(2)} × RSS after 10 s`,
    });
  } else {
    check(
      'fresh soak: RSS growth',
      result.soak.ratio,
      (v) => v <= SOAK_RSS_TARGET,
      `≤ ${SOAK_RSS_TARGET.toFixed(2)} × RSS after 10 s`,
      (v) => `${v.toFixed(3)} × (${result.soak!.rssAfter10sMB} → ${result.soak!.rssAfterSoakMB} MB after ${result.soak!.seconds} s)`,
    );
  }
  return targets;
}

export function formatTargets(targets: TargetResult[]): string[] {
  return targets.map((target) => `${target.status.padEnd(4)}  ${describeTarget(target)}`);
}

/** "name: value (target …)"; an INFO line has no target. */
function describeTarget(target: TargetResult): string {
  return `${target.name}: ${target.value}${target.target ? ` (target ${target.target})` : ''}`;
}

/** A figure with `digits` decimals, or – when not measured. */
function formatFigure(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}

/** The results table's columns: header in the README, header on the console, the cell. The first is left-aligned, the others numbers. */
const COLUMNS: Array<[string, string, (summary: ScenarioSummary) => string]> = [
  ['scenario', 'scenario', (summary) => summary.label],
  ['req/s', 'req/s', (summary) => formatFigure(summary.reqPerSec, 0)],
  ['× baseline', '×base', (summary) => formatFigure(summary.vsBaseline?.reqPerSec, 2)],
  ['p50 ms', 'p50', (summary) => formatFigure(summary.latencyMs.p50)],
  ['p97.5 ms', 'p97.5', (summary) => formatFigure(summary.latencyMs.p97_5)],
  ['p99 ms', 'p99', (summary) => formatFigure(summary.latencyMs.p99)],
  ['p99 × baseline', 'p99×base', (summary) => formatFigure(summary.vsBaseline?.p99, 2)],
  [
    'non-2xx',
    'non-2xx',
    (summary) =>
      Object.entries(summary.non2xx)
        .map(([status, count]) => `${status}×${count}`)
        .join(', ') || '0',
  ],
  ['Redis cmds/req', 'cmds/req', (summary) => formatFigure(summary.commandsPerRequest, 2)],
  ['round trips/req', 'RT/req', (summary) => formatFigure(summary.roundTripsPerRequest, 2)],
  ['idempotency RT/req', 'idem RT/req', (summary) => formatFigure(summary.idempotencyRoundTripsPerRequest, 2)],
  ['writes/req', 'writes/req', (summary) => formatFigure(summary.writesPerRequest, 2)],
  ['PG stmts/req', 'PG/req', (summary) => formatFigure(summary.postgresStatementsPerRequest, 2)],
  ['executions/req', 'exec/req', (summary) => formatFigure(summary.executionsPerRequest, 2)],
  ['ELU', 'ELU', (summary) => formatFigure(summary.elu, 2)],
  ['CPU µs/req', 'CPU µs/req', (summary) => formatFigure(summary.cpuUsPerRequest, 0)],
  ['CPU × baseline', 'CPU×base', (summary) => formatFigure(summary.vsBaseline?.cpuUs, 2)],
  ['CPU × ref', 'CPU×ref', (summary) => formatFigure(summary.vsRef?.cpuUs, 2)],
  ['RSS MB', 'RSS MB', (summary) => formatFigure(summary.rssMB, 0)],
  [
    'outbox lag p99 ms',
    'lag p99',
    (summary) => formatFigure(summary.events?.lagP99S === null || summary.events?.lagP99S === undefined ? null : 1000 * summary.events.lagP99S, 0),
  ],
  [
    'event CPU % of charge',
    'event %',
    (summary) =>
      formatFigure(summary.events?.shareOfCharge === null || summary.events?.shareOfCharge === undefined ? null : 100 * summary.events.shareOfCharge, 1),
  ],
];

/** The generated part of bench/README.md (between the markers). */
export function renderMarkdown(result: BenchResult, chartPath: string): string {
  const { options, machine } = result;
  const lines: string[] = [];
  const format = formatFigure;
  const dirty = result.git.dirtyFiles ? ` + ${result.git.dirtyFiles} uncommitted files` : '';
  lines.push(
    `Last run: **${result.startedAt}**, commit \`${result.git.commit?.slice(0, 8) ?? 'unknown'}\`${dirty}; ` +
      `${options.seconds} s per run, ${options.connections} connections, ${options.rounds} interleaved round(s)` +
      `${options.quick ? ', `--quick` (no soak)' : `, soak ${options.soakSeconds} s`}; the service on ${options.adapters.join(' and ')}` +
      `${options.ref ? ` and at \`${options.ref}\` (${result.git.refCommit?.slice(0, 8) ?? 'unknown'}), built in a temporary worktree` : ''}; ` +
      `Node ${machine.node}, ${machine.cpus} CPUs ` +
      `(load average at start ${machine.loadAverageAtStart.map((value) => value.toFixed(2)).join(' / ')}), ${machine.redis}. ` +
      `Full data: \`bench/results/${result.startedAt.replace(/:/g, '-')}.json\` on the machine that ran it (not in git).`,
    '',
    `| ${COLUMNS.map(([header]) => header).join(' | ')} |`,
    `|${COLUMNS.map((_, index) => (index === 0 ? '---' : '---:')).join('|')}|`,
    ...result.summary.scenarios.map((summary) => `| ${COLUMNS.map(([, , cell]) => cell(summary)).join(' | ')} |`),
  );
  lines.push(
    '',
    `Medians over the rounds. The baseline runs on the default adapter (${DEFAULT_ADAPTER}); "× baseline" is the median of each round's ` +
      'ratio to the baseline run of the same round, for the rows on that adapter; "CPU × ref" the same against the scenario ' +
      'on the `--ref` side. ' +
      '"Redis cmds/req" counts what Redis executed (INFO commandstats, commands run inside scripts included); ' +
      '"round trips/req" the replies the service awaited (a script call or a MULTI/EXEC block is one, auto-pipelined ' +
      'commands one each); "idempotency RT/req" those of the layer itself (its begin/complete scripts and Redlock\'s, by name); ' +
      '"writes/req" the socket writes to Redis (auto-pipelining shares them between concurrent requests); ' +
      '"PG stmts/req" the PostgreSQL statements the service sent (counted at the driver; `pg` sends one per round trip, ' +
      "the events worker's outbox transactions included); " +
      '"executions/req" the share of requests that ran the charge (the gateway ledger\'s INSERT, or its HSETNX in a build with the ledger in Redis); ' +
      '"CPU µs/req" the service process\'s CPU time per request (process.cpuUsage(), all threads): the steadiest view of ' +
      'cost on a shared machine, where other processes stretch wall time and so req/s, latency and ELU. ' +
      '"outbox lag p99 ms" (fresh rows of this build) the 99th percentile of the age of the oldest unpublished outbox event, sampled ' +
      'from the side\'s database every 100 ms during the measured runs of all rounds (pooled); "event CPU % of charge" (the ' +
      "`fastify + worker` row: the service with EVENTS_WORKER=false and `dist/worker.js` beside it) the events worker's CPU per event " +
      'it relayed and consumed (from the start of the window until the outbox was empty and every receipt written) over the ' +
      "service's CPU per charge in the same run, median over rounds.",
  );
  const contention = result.summary.contention;
  if (contention) {
    const last = result.contention.at(-1)!;
    // Results files from before the floor existed have none.
    const floor = contention.floor ?? null;
    lines.push(
      '',
      `**Contention** (${last.requests} concurrent requests, one key, gateway delay ${last.gatewayDelayMs} ms, ${contention.rounds} round(s)): ` +
        `ledger executions ${contention.executionsPerRound.map((count) => count ?? '?').join(', ')}; ` +
        `409 latency p50 ${format(contention.conflictP50Ms)} ms, p99 ${format(contention.conflictP99Ms)} ms ` +
        `(answered while the execution ran: ${contention.conflictsWhileRunning} of ${contention.conflicts}, p99 ${format(contention.whileRunningP99Ms)} ms); ` +
        (floor
          ? `the floor (the same burst and client against a bare node:http server answering a fixed 409): p50 ${format(floor.burstP50Ms)} ms, ` +
            `p99 ${format(floor.burstP99Ms)} ms, ${format(floor.burstConflictsPerSecond, 0)} 409s/s, so service ÷ floor (p99 while running) ${formatRatio(floor.burstP99Ratio)}; `
          : '') +
        `${contention.replays} late replays; the executing request took ${format(contention.freshLatencyMs)} ms; ` +
        `409s answered at ${last.conflictsPerSecond ?? '–'}/s; ` +
        `${format(contention.roundTripsPerRequest, 2)} round trips per request. Last burst: statuses ` +
        `${Object.entries(last.statuses)
          .map(([status, count]) => `${status}×${count}`)
          .join(', ')}, dispatched in ${format(last.dispatchMs)} ms, ` +
        `last answer after ${format(last.wallMs)} ms.` +
        // Results files from before the steady phase existed have none.
        (last.steady
          ? ` **Steady** (${last.steady.connections} connections repeating one key for ` +
            `${last.steady.seconds} s while its execution runs, gateway delay ${last.steady.gatewayDelayMs} ms): executions ` +
            `${contention.steadyExecutionsPerRound.map((count) => count ?? '?').join(', ')}; 409 p50 ${format(contention.steadyP50Ms)} ms, ` +
            `p99 ${format(contention.steadyP99Ms)} ms (${last.steady.conflictsPerSecond} 409s/s; statuses ` +
            `${Object.entries(last.steady.statuses)
              .map(([status, count]) => `${status}×${count}`)
              .join(', ')})` +
            (floor
              ? `; the floor (the same load): p50 ${format(floor.steadyP50Ms)} ms, p99 ${format(floor.steadyP99Ms)} ms ` +
                `(${format(floor.steadyConflictsPerSecond, 0)} 409s/s), so service ÷ floor (p99) ${formatRatio(floor.steadyP99Ratio)}.`
              : '.')
          : ''),
    );
  }
  if (result.soak) {
    lines.push(
      '',
      `**Soak** (fresh keys on a newly started service): RSS ${result.soak.rssAfter10sMB} MB after 10 s → ` +
        `${result.soak.rssAfterSoakMB} MB after ${result.soak.seconds} s (× ${result.soak.ratio.toFixed(3)}; medians of 5 s windows, ` +
        `RSS saws with GC), trend after 10 s ${result.soak.rssSlopeMBPerMinute >= 0 ? '+' : ''}${result.soak.rssSlopeMBPerMinute} MB/min; heap used ` +
        `${result.soak.heapAfter10sMB} → ${result.soak.heapAfterSoakMB} MB; ${Math.round(result.soak.reqPerSecFirst10s)} then ` +
        `${Math.round(result.soak.reqPerSecRest)} req/s.`,
    );
  }
  lines.push('', '**Targets** (issues 7, 14, 23 and 24):', '');
  for (const target of result.targets) lines.push(`- ${target.status} ${describeTarget(target)}`);
  lines.push(...renderProfiles(result.profiles));
  lines.push('', `![requests/s, p99 and CPU per request by scenario and side](${chartPath})`);
  return lines.join('\n');
}

/** --cpu-prof: the top self time of the service's profiles, and self time by origin of every profile, per request. */
function renderProfiles(profiles: ProfiledRun[]): string[] {
  const format = formatFigure;
  const lines: string[] = [];
  const baseline = profiles.find((profile) => profile.scenario === 'baseline');
  for (const profile of profiles.filter((candidate) => candidate !== baseline)) {
    lines.push(
      '',
      `**CPU profile** of the service (${DEFAULT_ADAPTER}) under the ${profile.scenario} scenario (\`node --cpu-prof\`, ` +
        `${profile.windowed ? 'load window only' : 'whole process life'}, ${format(profile.windowMs / 1000)} s, busy ${format(profile.busyPercent)} %, ` +
        `${Math.round(profile.reqPerSec)} req/s while profiled, ${format(profile.busyUsPerRequest, 0)} µs of main-thread CPU per request` +
        `${baseline ? ` vs ${format(baseline.busyUsPerRequest, 0)} µs in the baseline` : ''}; \`${profile.file}\`). Self time, share of busy time:`,
      '',
      '| function | where | self ms | % |',
      '|---|---|---:|---:|',
      ...profile.top
        .slice(0, 15)
        .map(
          (entry) =>
            `| \`${entry.function}\` | ${entry.location ? `\`${entry.location}${entry.line ? `:${entry.line}` : ''}\`` : '–'} | ${format(entry.selfMs, 0)} | ${format(entry.selfPercent)} |`,
        ),
    );
  }
  if (profiles.length === 0) return lines;
  const ordered = PROFILED_SCENARIOS.flatMap((scenario) => profiles.filter((profile) => profile.scenario === scenario));
  const fresh = ordered.find((profile) => profile.scenario === 'fresh');
  const perRequest = (profile: ProfiledRun, origin: string) => {
    const found = profile.byOrigin.find((candidate) => candidate.origin === origin);
    return found ? (1000 * found.selfMs) / Math.max(profile.requests, 1) : 0;
  };
  const added = fresh && baseline ? (origin: string) => perRequest(fresh, origin) - perRequest(baseline, origin) : undefined;
  const origins = [...new Set(ordered.flatMap((profile) => profile.byOrigin.map((origin) => origin.origin)))]
    .sort((a, b) => perRequest(ordered[0]!, b) - perRequest(ordered[0]!, a))
    .slice(0, 16);
  lines.push(
    '',
    `Self time by origin, µs of CPU per request${added ? ' (fresh − baseline: what the idempotency path adds)' : ''}:`,
    '',
    `| origin | ${ordered.map((profile) => `${profile.scenario} µs/req`).join(' | ')} |${added ? ' fresh − baseline |' : ''}`,
    `|---|${ordered.map(() => '---:').join('|')}|${added ? '---:|' : ''}`,
    ...origins.map(
      (origin) =>
        `| ${origin} | ${ordered.map((profile) => format(perRequest(profile, origin), 0)).join(' | ')} |` +
        (added ? ` ${added(origin) >= 0 ? '+' : ''}${format(added(origin), 0)} |` : ''),
    ),
  );
  return lines;
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** The chart (dated and latest) and the README table, from a result. */
export function writeOutputs(result: BenchResult, stamp: string): void {
  const svg = renderChart(result);
  writeFileSync(join(RESULTS_DIR, `${stamp}.svg`), svg);
  writeFileSync(join(BENCH_DIR, 'chart.svg'), svg);
  writeReadme(renderMarkdown(result, 'chart.svg'));
}

function writeReadme(markdown: string): void {
  const block = `${MARKER_START}\n${markdown}\n${MARKER_END}`;
  const current = existsSync(README) ? readFileSync(README, 'utf8') : `# Benchmark\n\n${MARKER_START}\n${MARKER_END}\n`;
  const startIndex = current.indexOf(MARKER_START);
  const endIndex = current.indexOf(MARKER_END);
  const next =
    startIndex === -1 || endIndex === -1 || endIndex < startIndex
      ? `${current.trimEnd()}\n\n${block}\n`
      : `${current.slice(0, startIndex)}${block}${current.slice(endIndex + MARKER_END.length)}`;
  writeFileSync(README, next);
}

export function printSummary(result: BenchResult): void {
  const rows = [COLUMNS.map(([, header]) => header), ...result.summary.scenarios.map((summary) => COLUMNS.map(([, , cell]) => cell(summary)))];
  const f = formatFigure;
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  console.log('');
  for (const row of rows)
    console.log(`  ${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ')}`);
  const contention = result.summary.contention;
  if (contention) {
    // Results files from before the floor existed have none.
    const floor = contention.floor ?? null;
    const vsFloor = (p50: number | null | undefined, p99: number | null | undefined, ratio: number | null | undefined, of: string) =>
      floor ? `; floor 409 p50 ${f(p50)} ms, p99 ${f(p99)} ms, service ÷ floor (${of}) ${formatRatio(ratio)}` : '';
    console.log(
      `\n  contention: executions ${contention.executionsPerRound.join(', ')}; 409 p50 ${f(contention.conflictP50Ms)} ms, p99 ${f(contention.conflictP99Ms)} ms ` +
        `(while running: ${contention.conflictsWhileRunning}/${contention.conflicts}, p99 ${f(contention.whileRunningP99Ms)} ms); late replays ${contention.replays}` +
        vsFloor(floor?.burstP50Ms, floor?.burstP99Ms, floor?.burstP99Ratio, 'p99 while running'),
    );
    if (contention.steadyExecutionsPerRound) {
      console.log(
        `  contention, steady (${result.options.connections} connections, one key, while it runs): executions ${contention.steadyExecutionsPerRound.join(', ')}; ` +
          `409 p50 ${f(contention.steadyP50Ms)} ms, p99 ${f(contention.steadyP99Ms)} ms` +
          vsFloor(floor?.steadyP50Ms, floor?.steadyP99Ms, floor?.steadyP99Ratio, 'p99'),
      );
    }
    if (floor) console.log('  (floor: the same load, same client, against a bare node:http server answering a fixed 409: what this machine and client allow)');
  }
  if (result.soak) {
    console.log(
      `  soak: RSS ${result.soak.rssAfter10sMB} MB after 10 s → ${result.soak.rssAfterSoakMB} MB after ${result.soak.seconds} s (× ${result.soak.ratio}), ` +
        `trend ${result.soak.rssSlopeMBPerMinute} MB/min`,
    );
  }
  for (const profile of result.profiles ?? []) {
    console.log(`\n  CPU profile of ${profile.scenario} (bench/${profile.file}): ${f(profile.busyUsPerRequest, 0)} µs busy per request; top self time:`);
    for (const entry of profile.top.slice(0, 12)) {
      console.log(`    ${f(entry.selfPercent).padStart(5)} %  ${entry.function}  ${entry.location}${entry.line ? `:${entry.line}` : ''}`);
    }
  }
  console.log('\nTargets (issues 7, 14, 23 and 24):');
  for (const line of formatTargets(result.targets)) console.log(`  ${line}`);
}
