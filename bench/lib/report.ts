/** What a run reports: summaries over rounds, the targets, the tables (stdout and docs/performance.md) and the JSON file. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, percentile, round } from '../../scripts/lib/stats.js';
import type { ContentionRun } from '../scenarios/contention.js';
import type { ProfiledRun } from '../scenarios/profile.js';
import type { SoakResult } from '../scenarios/soak.js';
import type { ThroughputRun } from '../scenarios/throughput.js';
import { sum } from './measure.js';
import { type BenchOptions, RESULTS_DIR, ROOT } from './processes.js';
import { DEFAULT_ADAPTER, isLayerSide, rowLabel, sideName, type ThroughputScenario } from './sides.js';

export interface BenchResult {
  startedAt: string;
  options: BenchOptions;
  machine: { node: string; cpus: number; cpuModel: string; loadAverageAtStart: number[]; redis: string };
  git: { commit: string | null; dirtyFiles: number | null; refCommit: string | null };
  checks: string[];
  runs: ThroughputRun[];
  contention: ContentionRun[];
  soak: SoakResult | null;
  profiles: ProfiledRun[];
  summary: { scenarios: ScenarioSummary[]; contention: ContentionSummary | null };
  targets: Target[];
}

const RESULTS_DOCUMENT = join(ROOT, 'docs', 'performance.md');
const MARKERS = ['<!-- results:start -->', '<!-- results:end -->'] as const;

function medianOf(digits: number, values: Figure[]): number | null {
  const present = values.filter((value): value is number => typeof value === 'number' && Number.isFinite(value));
  return present.length === 0 ? null : round(median(present), digits);
}

/**
 * The summary of each row (scenario and side) in the order the rows ran: medians over rounds, and
 * medians of per-round ratios to the baseline (rows on its adapter only: elsewhere more differs than
 * the idempotency layer), to the same scenario at `--ref`, and for a layer row to its adapter's bare route.
 */
export function summarizeScenarios(runs: ThroughputRun[]) {
  const labels = [...new Set(runs.map((run) => run.label))];
  return labels.map((label) => {
    const own = runs.filter((run) => run.label === label);
    const { scenario, side } = own[0]!;
    const pick = (figure: (run: ThroughputRun) => Figure, digits = 3) => medianOf(digits, own.map(figure));
    const sameRound = (run: ThroughputRun, test: (other: ThroughputRun) => boolean) => runs.find((other) => other.round === run.round && test(other));
    const ratio = (test: (other: ThroughputRun) => boolean, figure: (run: ThroughputRun) => number) =>
      pick((run) => {
        const other = sameRound(run, test);
        return other && other !== run ? figure(run) / figure(other) : null;
      });
    const isBaseline = (other: ThroughputRun) => side === DEFAULT_ADAPTER && other.scenario === 'baseline';
    const isRef = (other: ThroughputRun) => side !== 'ref' && !isLayerSide(side) && other.side === 'ref' && other.scenario === scenario;
    const bare = isLayerSide(side) ? side.replace(/ [^ ]+( passthrough)?$/, ' bare') : undefined;
    const isBare = (other: ThroughputRun) => other.side === bare;
    const non2xx: Record<string, number> = {};
    for (const run of own)
      for (const [status, count] of Object.entries({ ...run.statusCounts, errors: run.errors, timeouts: run.timeouts }))
        if (!status.startsWith('2') && count > 0) non2xx[status] = (non2xx[status] ?? 0) + count;
    return {
      scenario,
      side,
      label,
      rounds: own.length,
      reqPerSec: pick((run) => run.reqPerSec, 0),
      p50: pick((run) => run.latencyMs.p50, 1),
      p97_5: pick((run) => run.latencyMs.p97_5, 1),
      p99: pick((run) => run.latencyMs.p99, 1),
      non2xx,
      commandsPerRequest: pick((run) => run.store.commandsPerRequest),
      roundTripsPerRequest: pick((run) => run.store.roundTripsPerRequest),
      idempotencyRoundTripsPerRequest: pick((run) => run.store.idempotencyRoundTripsPerRequest),
      writesPerRequest: pick((run) => run.store.writesPerRequest),
      scriptCallsPerRequest: pick((run) => run.store.scriptCallsPerRequest),
      postgresStatementsPerRequest: pick((run) => run.store.postgresStatementsPerRequest),
      executionsPerRequest: pick((run) => run.store.executionsPerRequest),
      elu: pick((run) => run.elu),
      cpuUsPerRequest: pick((run) => run.cpuUsPerRequest, 0),
      rssMB: own.at(-1)!.rssMB,
      vsBaseline: {
        reqPerSec: ratio(isBaseline, (run) => run.reqPerSec),
        p99: ratio(isBaseline, (run) => run.latencyMs.p99),
        cpuUs: ratio(isBaseline, (run) => run.cpuUsPerRequest),
      },
      vsRef: { reqPerSec: ratio(isRef, (run) => run.reqPerSec), cpuUs: ratio(isRef, (run) => run.cpuUsPerRequest) },
      /** Layer rows: the server CPU per request added over the bare route of the adapter, and the ratios to it. */
      vsBare: bare
        ? {
            against: bare,
            addedCpuUs: pick((run) => run.cpuUsPerRequest - sameRound(run, isBare)!.cpuUsPerRequest, 0),
            cpuUs: ratio(isBare, (run) => run.cpuUsPerRequest),
            reqPerSec: ratio(isBare, (run) => run.reqPerSec),
          }
        : null,
      events: own.some((run) => run.events) ? eventSummary(own, (run) => sameRound(run, (other) => other.side === 'worker')) : null,
    };
  });
}

/** The event path of a row's fresh runs; the cross-check on the default adapter's row against the `worker` row's service CPU of the same round. */
function eventSummary(own: ThroughputRun[], workerRun: (run: ThroughputRun) => ThroughputRun | undefined) {
  const events = own.flatMap((run) => (run.events ? [run.events] : []));
  const lagSamples = events.flatMap((figures) => figures.lagSamplesS);
  return {
    lagP99S: percentile(lagSamples, 99, 3),
    lagMaxS: lagSamples.length === 0 ? null : Math.max(...lagSamples),
    eventCpuUs: medianOf(
      0,
      events.map((figures) => figures.workerCpuUsPerEvent),
    ),
    shareOfCharge: medianOf(
      4,
      events.map((figures) => figures.shareOfCharge),
    ),
    /** This row's CPU per request over the service's without the event path, minus 1. */
    inProcessShare:
      own[0]!.side === DEFAULT_ADAPTER
        ? medianOf(
            4,
            own.map((run) => run.cpuUsPerRequest / (workerRun(run)?.cpuUsPerRequest ?? NaN) - 1),
          )
        : null,
  };
}

export type ScenarioSummary = ReturnType<typeof summarizeScenarios>[number];

export function summarizeContention(runs: ContentionRun[]) {
  if (runs.length === 0) return null;
  const pick = (figure: (run: ContentionRun) => number | null) => medianOf(2, runs.map(figure));
  /** The service's 409 p99 ÷ the floor's, same round. */
  const vsFloor = (figures: (run: ContentionRun) => Array<number | null>) =>
    pick((run) => {
      const [service, floor] = figures(run);
      return (service ?? NaN) / (floor || NaN);
    });
  return {
    rounds: runs.length,
    executionsPerRound: runs.map((run) => run.burst.ledgerExecutions),
    conflictP50Ms: pick((run) => run.burst.conflicts.p50),
    conflictP99Ms: pick((run) => run.burst.conflicts.p99),
    whileRunningP99Ms: pick((run) => run.burst.conflictsWhileRunning.p99),
    conflictsWhileRunning: sum(runs.map((run) => run.burst.conflictsWhileRunning.count)),
    conflicts: sum(runs.map((run) => run.burst.conflicts.count)),
    replays: sum(runs.map((run) => run.burst.replays)),
    freshLatencyMs: pick((run) => run.burst.freshLatencyMs),
    roundTripsPerRequest: pick((run) => run.burst.roundTripsPerRequest),
    steadyExecutionsPerRound: runs.map((run) => run.steady.ledgerExecutions),
    steadyP50Ms: pick((run) => run.steady.p50),
    steadyP99Ms: pick((run) => run.steady.p99),
    floor: {
      burstP50Ms: pick((run) => run.floor.burst.conflicts.p50),
      burstP99Ms: pick((run) => run.floor.burst.conflicts.p99),
      burstConflictsPerSecond: pick((run) => run.floor.burst.conflictsPerSecond),
      burstP99Ratio: vsFloor((run) => [run.burst.conflictsWhileRunning.p99, run.floor.burst.conflicts.p99]),
      steadyP50Ms: pick((run) => run.floor.steady.p50),
      steadyP99Ms: pick((run) => run.floor.steady.p99),
      steadyP99Ratio: vsFloor((run) => [run.steady.p99, run.floor.steady.p99]),
    },
  };
}

type ContentionSummary = NonNullable<ReturnType<typeof summarizeContention>>;

/** INFO: not a target but a figure to read one by (the floor, a cross-check). */
export type Target = { name: string; status: 'PASS' | 'FAIL' | 'SKIP' | 'INFO'; value: string; target: string };

/** Against `--ref 053e3c3` (records in Redis): a fresh charge may cost 10 % more CPU than there, a replay no more. */
const REF_CPU_TARGET = { fresh: 1.1, replay: 1.0 } as const;
const SOAK_RSS_TARGET = 1.15;
const OUTBOX_LAG_P99_TARGET_S = 1;
const EVENT_CPU_SHARE_TARGET = 0.1;
const CONFLICT_P99_TARGET_MS = 20;

/** The targets, about the default adapter, as PASS / FAIL / SKIP lines, with INFO lines to read them by. */
export function evaluateTargets(result: Pick<BenchResult, 'summary' | 'soak' | 'options'>): Target[] {
  const targets: Target[] = [];
  // A run of the layer alone measures nothing the targets are about.
  if (result.summary.scenarios.every((summary) => isLayerSide(summary.side)) && !result.summary.contention) return targets;
  const { ref, quick } = result.options;
  const row = (scenario: ThroughputScenario, side = DEFAULT_ADAPTER as 'worker' | typeof DEFAULT_ADAPTER) =>
    result.summary.scenarios.find((summary) => summary.scenario === scenario && summary.side === side);
  const name = (scenario: ThroughputScenario) => rowLabel(scenario, DEFAULT_ADAPTER, ref);
  const check = (name: string, value: Figure, ok: (value: number) => boolean, target: string, format: (value: number) => string, missing = 'not measured') =>
    targets.push(
      value === null || value === undefined || !Number.isFinite(value)
        ? { name, status: 'SKIP', value: missing, target }
        : { name, status: ok(value) ? 'PASS' : 'FAIL', value: format(value), target },
    );
  const info = (name: string, value: string | null) => value !== null && targets.push({ name, status: 'INFO', value, target: '' });
  const times = (of: string) => (value: number) => `${value.toFixed(2)} × ${of}`;
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  const percent = (value: number) => `${(100 * value).toFixed(1)} %`;
  const fixed2 = (value: number) => value.toFixed(2);
  const onePerRound = (name: string, executions: Array<number | null> = []) => {
    const measured = executions.length > 0 && executions.every((count) => count !== null);
    check(
      name,
      measured ? Math.max(...(executions as number[])) : null,
      () => executions.every((count) => count === 1),
      '1 in every round',
      () => executions.join(', '),
    );
  };
  const floorInfo = (name: string, floorP99: Figure, ratio: Figure) => {
    const value = floorP99 == null ? null : `409 p99 ${floorP99.toFixed(1)} ms; service ÷ floor ${format(ratio)}×`;
    info(`${name}: floor on this machine (bare node:http answering a fixed 409, same client)`, value);
  };

  const [fresh, replay] = [row('fresh'), row('replay')];
  check(`${name('replay')}: idempotency round trips per request`, replay?.idempotencyRoundTripsPerRequest, (v) => Math.abs(v - 1) <= 0.01, '= 1', fixed2);
  check(`${name('fresh')}: idempotency round trips per request`, fresh?.idempotencyRoundTripsPerRequest, (v) => v > 0 && v <= 3.01, '≤ 3', fixed2);
  check(`${name('fresh')}: requests/s`, fresh?.vsBaseline.reqPerSec, (v) => v >= 0.85, '≥ 0.85 × baseline', times('baseline'));
  check(`${name('fresh')}: p99 latency`, fresh?.vsBaseline.p99, (v) => v <= 1.25, '≤ 1.25 × baseline', times('baseline'));
  check(`${name('replay')}: requests/s`, replay?.vsBaseline.reqPerSec, (v) => v >= 1.3, '≥ 1.3 × baseline', times('baseline'));
  const refName = ref ? sideName('ref', ref) : 'ref';
  for (const scenario of ['fresh', 'replay'] as const) {
    const [bound, missing] = [REF_CPU_TARGET[scenario], ref ? 'not measured' : 'not measured (run with --ref 053e3c3)'];
    check(`${name(scenario)}: CPU per request`, row(scenario)?.vsRef.cpuUs, (v) => v <= bound, `≤ ${bound.toFixed(2)} × ${refName}`, times(refName), missing);
  }
  const contention = result.summary.contention;
  const conflictTarget = `≤ ${CONFLICT_P99_TARGET_MS} ms`;
  onePerRound('contention: executions per burst', contention?.executionsPerRound);
  check('contention: 409 p99 while the execution runs', contention?.whileRunningP99Ms, (v) => v <= CONFLICT_P99_TARGET_MS, conflictTarget, ms);
  floorInfo('contention', contention?.floor.burstP99Ms, contention?.floor.burstP99Ratio);
  check('contention: 409 p99 while the execution runs, against the floor', contention?.floor.burstP99Ratio, (v) => v <= 2, '≤ 2 × floor', times('floor'));
  const steady = 'contention (steady, one key at --connections)';
  onePerRound(`${steady}: executions`, contention?.steadyExecutionsPerRound);
  check(`${steady}: 409 p99`, contention?.steadyP99Ms, (v) => v <= CONFLICT_P99_TARGET_MS, conflictTarget, ms);
  floorInfo(steady, contention?.floor.steadyP99Ms, contention?.floor.steadyP99Ratio);
  const events = fresh?.events;
  const lag = (v: number) => `${(1000 * v).toFixed(0)} ms (max ${(1000 * (events?.lagMaxS ?? 0)).toFixed(0)} ms)`;
  const lagName = `${name('fresh')}: outbox lag (oldest unpublished event) p99`;
  check(lagName, events?.lagP99S, (v) => v < OUTBOX_LAG_P99_TARGET_S, `< ${OUTBOX_LAG_P99_TARGET_S} s`, lag);
  const worker = row('fresh', 'worker');
  const share = (v: number) => `${percent(v)} (${format(worker?.events?.eventCpuUs, 0)} µs per event, ${format(worker?.cpuUsPerRequest, 0)} µs per charge)`;
  const shareName = `${worker?.label ?? 'fresh (events worker apart)'}: relaying and consuming an event, CPU of the events worker per event ÷ the service's CPU per charge`;
  check(shareName, worker?.events?.shareOfCharge, (v) => v <= EVENT_CPU_SHARE_TARGET, `≤ ${percent(EVENT_CPU_SHARE_TARGET)} of a charge`, share);
  const crossCheck = `${name('fresh')}: cross-check, the service's CPU per request with the event path in process over ${worker?.label}'s service without it, minus 1`;
  info(crossCheck, events?.inProcessShare == null ? null : percent(events.inProcessShare));
  const soak = result.soak;
  const growth = (v: number) => `${v.toFixed(3)} × (${soak!.rssAfter10sMB} → ${soak!.rssAfterSoakMB} MB after ${soak!.seconds} s)`;
  const soakMissing = quick ? 'skipped (--quick)' : 'not measured';
  check('fresh soak: RSS growth', soak?.ratio, (v) => v <= SOAK_RSS_TARGET, `≤ ${SOAK_RSS_TARGET.toFixed(2)} × RSS after 10 s`, growth, soakMissing);
  return targets;
}

/** A figure, null or undefined when not measured. */
type Figure = number | null | undefined;

/** A figure with `digits` decimals, or – when not measured. */
function format(value: Figure, digits = 1): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}

const scaled = (value: Figure, factor: number) => (value === null || value === undefined ? null : factor * value);
const counts = (statuses: Record<string, number>) => Array.from(Object.entries(statuses), ([status, count]) => `${status}×${count}`).join(', ') || '0';

type Column = [string, (summary: ScenarioSummary) => string];
const SERVICE_COLUMNS: Column[] = [
  ['scenario', (s) => s.label],
  ['req/s', (s) => format(s.reqPerSec, 0)],
  ['× baseline', (s) => format(s.vsBaseline.reqPerSec, 2)],
  ['p50 ms', (s) => format(s.p50)],
  ['p97.5 ms', (s) => format(s.p97_5)],
  ['p99 ms', (s) => format(s.p99)],
  ['p99 × baseline', (s) => format(s.vsBaseline.p99, 2)],
  ['non-2xx', (s) => counts(s.non2xx)],
  ['Redis cmds/req', (s) => format(s.commandsPerRequest, 2)],
  ['round trips/req', (s) => format(s.roundTripsPerRequest, 2)],
  ['idempotency RT/req', (s) => format(s.idempotencyRoundTripsPerRequest, 2)],
  ['writes/req', (s) => format(s.writesPerRequest, 2)],
  ['PG stmts/req', (s) => format(s.postgresStatementsPerRequest, 2)],
  ['executions/req', (s) => format(s.executionsPerRequest, 2)],
  ['ELU', (s) => format(s.elu, 2)],
  ['CPU µs/req', (s) => format(s.cpuUsPerRequest, 0)],
  ['CPU × baseline', (s) => format(s.vsBaseline.cpuUs, 2)],
  ['CPU × ref', (s) => format(s.vsRef.cpuUs, 2)],
  ['RSS MB', (s) => format(s.rssMB, 0)],
  ['outbox lag p99 ms', (s) => format(scaled(s.events?.lagP99S, 1000), 0)],
  ['event CPU % of charge', (s) => format(scaled(s.events?.shareOfCharge, 100), 1)],
];
const LAYER_COLUMNS: Column[] = [
  ['scenario', (s) => s.label],
  ['against', (s) => s.vsBare?.against ?? '–'],
  ['server CPU µs/req', (s) => format(s.cpuUsPerRequest, 0)],
  ['added', (s) => (s.vsBare?.against === s.side ? '–' : signed(s.vsBare?.addedCpuUs))],
  ['× CPU', (s) => format(s.vsBare?.cpuUs ?? 1, 2)],
  ['req/s', (s) => format(s.reqPerSec, 0)],
  ['× req/s', (s) => format(s.vsBare?.reqPerSec ?? 1, 2)],
  ['Redis scripts/req', (s) => format(s.scriptCallsPerRequest, 2)],
  ['Redis commands/req', (s) => format(s.commandsPerRequest, 1)],
  ['non-2xx', (s) => counts(s.non2xx)],
];

function signed(value: Figure): string {
  return value === null || value === undefined ? '–' : `${value >= 0 ? '+' : ''}${value.toFixed(0)}`;
}

function table(columns: Column[], rows: ScenarioSummary[]): string[] {
  return [
    `| ${columns.map(([header]) => header).join(' | ')} |`,
    `|---|${'---:|'.repeat(columns.length - 1)}`,
    ...rows.map((row) => `| ${columns.map(([, cell]) => cell(row)).join(' | ')} |`),
  ];
}

/** Per adapter, the CPU our layer (Redis store) and the peer add over the bare route, fresh and replay, and ours ÷ peer ("–" where the peer adds nothing). */
function versusPeer(rows: ScenarioSummary[]): string[] {
  const added = (label: string) => rows.find((row) => row.label === label)?.vsBare?.addedCpuUs ?? null;
  const adapters = [...new Set(rows.filter((row) => isLayerSide(row.side)).map((row) => row.side.split(' ')[1]!))];
  return [
    'Ours against the peer (`@node-idempotency/nestjs`, its Redis adapter): server CPU µs per request added over bare, medians; ours ÷ peer below 1 means ours costs less.',
    '',
    '| adapter | ours fresh | peer fresh | ours ÷ peer, fresh | ours replay | peer replay | ours ÷ peer, replay |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...adapters.map((adapter) => {
      const cells = (['fresh', 'replay'] as const).flatMap((scenario) => {
        const [ours, peer] = [added(`${scenario} (layer ${adapter} redis)`), added(`${scenario} (layer ${adapter} peer)`)];
        return [signed(ours), signed(peer), ours !== null && peer !== null && peer > 0 ? (ours / peer).toFixed(2) : '–'];
      });
      return `| ${adapter} | ${cells.join(' | ')} |`;
    }),
  ];
}

/** The report: the generated block of docs/performance.md, also printed on stdout. */
export function renderMarkdown(result: BenchResult): string {
  const { options, machine, git } = result;
  const stamp = result.startedAt.replace(/:/g, '-');
  const service = result.summary.scenarios.filter((row) => !isLayerSide(row.side));
  const layer = result.summary.scenarios.filter((row) => isLayerSide(row.side));
  const lines = [
    `Last run: **${result.startedAt}**, commit \`${git.commit?.slice(0, 8) ?? 'unknown'}\`${git.dirtyFiles ? ` + ${git.dirtyFiles} uncommitted files` : ''}; ` +
      `${options.seconds} s per run, ${options.connections} connections, ${options.rounds} interleaved round(s)${options.quick ? ', `--quick` (no soak)' : ''}; ` +
      `adapters ${options.adapters.join(' and ')}${options.ref ? `, \`--ref ${options.ref}\` (${git.refCommit?.slice(0, 8)})` : ''}; ` +
      `Node ${machine.node}, ${machine.cpus} CPUs (load average at start ${machine.loadAverageAtStart.join(' / ')}), ${machine.redis}. ` +
      `Full data: \`bench/results/${stamp}.json\` on the machine that ran it (not in git).`,
  ];
  if (service.length > 0)
    lines.push('', ...table(SERVICE_COLUMNS, service), '', 'Medians over rounds; ratios are medians of per-round ratios. The columns are explained above.');
  if (layer.length > 0)
    lines.push('', '**The layer alone** (a trivial route, bare and behind a layer):', '', ...table(LAYER_COLUMNS, layer), '', ...versusPeer(layer));
  const contention = result.summary.contention;
  const last = result.contention.at(-1);
  if (contention && last) {
    const { floor } = contention;
    lines.push(
      '',
      `**Contention** (${last.burst.requests} concurrent requests, one key, gateway delay ${last.burst.gatewayDelayMs} ms, ${contention.rounds} round(s)): ` +
        `ledger executions ${contention.executionsPerRound.join(', ')}; 409 p50 ${format(contention.conflictP50Ms)} ms, p99 ${format(contention.conflictP99Ms)} ms ` +
        `(answered while the execution ran: ${contention.conflictsWhileRunning} of ${contention.conflicts}, p99 ${format(contention.whileRunningP99Ms)} ms); ` +
        `the floor: p50 ${format(floor.burstP50Ms)} ms, p99 ${format(floor.burstP99Ms)} ms, ${format(floor.burstConflictsPerSecond, 0)} 409s/s, service ÷ floor ${format(floor.burstP99Ratio)}×; ` +
        `${contention.replays} late replays; the execution took ${format(contention.freshLatencyMs)} ms; ${format(contention.roundTripsPerRequest, 2)} round trips per request; ` +
        `last burst ${counts(last.burst.statuses)}, last answer after ${format(last.burst.wallMs)} ms. ` +
        `**Steady** (${options.connections} connections, one key, gateway delay ${last.steady.gatewayDelayMs} ms): executions ${contention.steadyExecutionsPerRound.join(', ')}; ` +
        `409 p50 ${format(contention.steadyP50Ms)} ms, p99 ${format(contention.steadyP99Ms)} ms (${counts(last.steady.statuses)}); ` +
        `the floor: p50 ${format(floor.steadyP50Ms)} ms, p99 ${format(floor.steadyP99Ms)} ms, service ÷ floor ${format(floor.steadyP99Ratio)}×.`,
    );
  }
  const { soak } = result;
  if (soak) {
    lines.push(
      '',
      `**Soak**: RSS ${soak.rssAfter10sMB} MB after 10 s → ${soak.rssAfterSoakMB} MB after ${soak.seconds} s (× ${soak.ratio}), ` +
        `trend after 10 s ${signed(soak.rssSlopeMBPerMinute)} MB/min; ${soak.reqPerSec.map(Math.round).join(' then ')} req/s.`,
    );
  }
  if (result.targets.length > 0)
    lines.push('', '**Targets**:', '', ...result.targets.map((t) => `- ${t.status} ${t.name}: ${t.value}${t.target ? ` (target ${t.target})` : ''}`));
  lines.push(...renderProfiles(result.profiles));
  return lines.join('\n');
}

/** --cpu-prof: the top self time of the service's profiles, and self time by origin of every profile, per request. */
function renderProfiles(profiles: ProfiledRun[]): string[] {
  const lines: string[] = [];
  const baseline = profiles.find((profile) => profile.scenario === 'baseline');
  for (const profile of profiles.filter((candidate) => candidate !== baseline)) {
    lines.push(
      '',
      `**CPU profile** of the ${profile.scenario} scenario (${DEFAULT_ADAPTER}, load window ${format(profile.windowMs / 1000)} s, busy ${format(profile.busyPercent)} %, ` +
        `${Math.round(profile.reqPerSec)} req/s, ${format(profile.busyUsPerRequest, 0)} µs of main-thread CPU per request` +
        `${baseline ? ` vs ${format(baseline.busyUsPerRequest, 0)} µs in the baseline` : ''}; \`${profile.file}\`). Self time, share of busy time:`,
      '',
      '| function | where | self ms | % |',
      '|---|---|---:|---:|',
      ...profile.top.slice(0, 15).map(({ function: name, location, line, selfMs, selfPercent }) => {
        const where = location ? `\`${location}${line ? `:${line}` : ''}\`` : '–';
        return `| \`${name}\` | ${where} | ${format(selfMs, 0)} | ${format(selfPercent)} |`;
      }),
    );
  }
  if (profiles.length === 0) return lines;
  const perRequest = (profile: ProfiledRun, origin: string) =>
    (1000 * (profile.byOrigin.find((entry) => entry.origin === origin)?.selfMs ?? 0)) / Math.max(profile.requests, 1);
  const fresh = profiles.find((profile) => profile.scenario === 'fresh');
  const added = fresh && baseline;
  const origins = [...new Set(profiles.flatMap((profile) => profile.byOrigin.map((entry) => entry.origin)))]
    .sort((a, b) => perRequest(profiles[0]!, b) - perRequest(profiles[0]!, a))
    .slice(0, 16);
  lines.push(
    '',
    `Self time by origin, µs of CPU per request${added ? ' (fresh − baseline: what the idempotency path adds)' : ''}:`,
    '',
    `| origin | ${profiles.map((profile) => `${profile.scenario} µs/req`).join(' | ')} |${added ? ' fresh − baseline |' : ''}`,
    `|---|${'---:|'.repeat(profiles.length + (added ? 1 : 0))}`,
    ...origins.map(
      (origin) =>
        `| ${origin} | ${profiles.map((profile) => format(perRequest(profile, origin), 0)).join(' | ')} |${added ? ` ${signed(perRequest(fresh, origin) - perRequest(baseline, origin))} |` : ''}`,
    ),
  );
  return lines;
}

/** The JSON (bench/results/) and the block of docs/performance.md, from a result; the report on stdout. */
export function writeOutputs(result: BenchResult): void {
  const stamp = result.startedAt.replace(/:/g, '-');
  writeFileSync(join(RESULTS_DIR, `${stamp}.json`), `${JSON.stringify(result, null, 2)}\n`);
  const markdown = renderMarkdown(result);
  const current = readFileSync(RESULTS_DOCUMENT, 'utf8');
  const [start, end] = [current.indexOf(MARKERS[0]), current.indexOf(MARKERS[1])];
  if (start !== -1 && end > start) writeFileSync(RESULTS_DOCUMENT, `${current.slice(0, start)}${MARKERS[0]}\n${markdown}\n${current.slice(end)}`);
  console.log(`\n${markdown}`);
}
