import type { ContentionResult } from '../load.js';
import type { ProfileSummary } from './cpu-profile.js';

export const THROUGHPUT_SCENARIOS = ['baseline', 'fresh', 'replay', 'mixed'] as const;
export const ALL_SCENARIOS = [...THROUGHPUT_SCENARIOS, 'contention'] as const;
export type ThroughputScenario = (typeof THROUGHPUT_SCENARIOS)[number];
export type Scenario = (typeof ALL_SCENARIOS)[number];

export const HTTP_ADAPTERS = ['fastify', 'express'] as const;
export type HttpAdapter = (typeof HTTP_ADAPTERS)[number];
/** The service's default adapter: the baseline runs on it, and so do mixed, contention, the soak and the profiles. */
export const DEFAULT_ADAPTER: HttpAdapter = 'fastify';

/**
 * The processes measured side by side, each on a Redis of its own: the baseline (the build without
 * the idempotency layer, on the default adapter), the service on each adapter, and the service as
 * it was at `--ref` (built in a temporary worktree).
 */
export type Side = 'baseline' | HttpAdapter | 'ref' | 'worker';

/**
 * The event path (issue 24) of a fresh run on a side of the current build: the outbox lag sampled
 * from the side's database during the measured window, the events published and consumed (the
 * outbox drained and every success's receipt written after the load), and on the `worker` side the
 * CPU of the events worker process (dist/worker.js) that relayed and consumed them.
 */
export interface EventFigures {
  /** Age of the oldest unpublished outbox event, s, sampled every `lagSampleMs` over the measured window (0 when none waits). */
  lagSamplesS: number[];
  lagSampleMs: number;
  lagP99S: number | null;
  lagMaxS: number | null;
  /** Events published (relayed) for the window's charges, counted in the database once drained. */
  published: number;
  /** `payment.succeeded` events of the window whose receipt the consumer wrote. */
  consumed: number;
  /** From the load's end until no event waited in the outbox and every success had its receipt, ms; null if that took over the limit. */
  drainMs: number | null;
  /** `worker` side: CPU of the worker process from the start of the window until drained, µs (all threads). */
  workerCpuUs: number | null;
  /** workerCpuUs ÷ published. */
  workerCpuUsPerEvent: number | null;
  /** workerCpuUsPerEvent ÷ the service's CPU per request in the same run: what relaying and consuming an event costs, as a share of a charge. */
  shareOfCharge: number | null;
}

export interface BenchOptions {
  seconds: number;
  connections: number;
  scenarios: Scenario[];
  rounds: number;
  soakSeconds: number;
  quick: boolean;
  cpuProf: boolean;
  warmupSeconds: number;
  leadInSeconds: number;
  contentionRequests: number;
  build: boolean;
  /** The adapters the service is measured on (fresh and replay on each). */
  adapters: HttpAdapter[];
  /** A git ref whose service is measured as one more side (fresh and replay), or null. */
  ref: string | null;
}

export interface LatencyFigures {
  p50: number;
  p97_5: number;
  p99: number;
  mean: number;
  max: number;
}

/** Redis work of one run, from INFO commandstats (server) and the probe (client) deltas. */
export interface RedisFigures {
  /** Commands Redis executed, by name, including those a script ran inside Redis. */
  commands: Record<string, number>;
  /** Round trips the service made (replies it awaited), by command name; a MULTI/EXEC block is one ("multi"). */
  roundTrips: Record<string, number>;
  /** Commands the service sent inside MULTI/EXEC blocks, by name. */
  transactionCommands: Record<string, number>;
  /** Socket writes to Redis: auto-pipelining puts the commands of concurrent requests in one. */
  writes: number;
  writesPerRequest: number;
  commandsPerRequest: number;
  roundTripsPerRequest: number;
  /** EVALSHA/EVAL round trips per request, any script. */
  scriptCallsPerRequest: number;
  /**
   * Round trips of the idempotency layer itself: its store's scripts (idempotencyBegin,
   * idempotencyComplete) and Redlock's (acquireLock, extendLock, releaseLock), told apart by the
   * probe by script name.
   */
  idempotencyRoundTrips: number;
  idempotencyRoundTripsPerRequest: number;
  /**
   * The gateway ledger's charge, counted by the probe: its INSERT in PostgreSQL, or (a build with the
   * ledger in Redis) the HSETNX the service sends: how many requests ran the business work.
   */
  executions: number;
  executionsPerRequest: number;
}

/** PostgreSQL work of one run, counted by the probe at the driver (`pg`: one statement per round trip). */
export interface PostgresFigures {
  /** By prepared statement name; BEGIN, COMMIT, ROLLBACK; `text` for other unnamed statements (the idempotency store's). */
  statements: Record<string, number>;
  statementsPerRequest: number;
}

export interface ThroughputRun {
  scenario: ThroughputScenario;
  side: Side;
  /** The row: the scenario and its side, e.g. `fresh (express)`. */
  label: string;
  round: number;
  durationS: number;
  connections: number;
  requestsSent: number;
  responses: number;
  reqPerSec: number;
  latencyMs: LatencyFigures;
  statusCounts: Record<string, number>;
  non2xx: number;
  errors: number;
  timeouts: number;
  perSecond: number[];
  redis: RedisFigures;
  /** Absent in results written before PostgreSQL was counted. */
  postgres?: PostgresFigures;
  /** Fresh runs on a side of the current build (issue 24); absent elsewhere and in older results. */
  events?: EventFigures;
  /** The idempotency layer's round trips per request (its scripts and Redlock's, by name). */
  idempotencyRoundTripsPerRequest: number | null;
  /**
   * Cross-check of the same by difference: all round trips minus the business work's, counted as
   * the same round's baseline round trips per execution × executions. Background work that lags
   * (the events consumer reads in batches) makes it noisier.
   */
  idempotencyRoundTripsByBaselinePerRequest: number | null;
  /** Plain difference to the same round's baseline round trips per request. */
  roundTripsVsBaselinePerRequest: number | null;
  elu: number;
  /**
   * Event-loop busy time per request, µs: the service's main-thread CPU per request. Less sensitive
   * to other processes on the machine than requests/s (which is 1 ÷ this when the loop is saturated).
   */
  loopUsPerRequest: number;
  /**
   * CPU time of the service process per request, µs (process.cpuUsage(), all threads). The steadiest
   * view of cost on a shared machine: other processes stretch wall time and ELU, not CPU time.
   */
  cpuUsPerRequest: number;
  rssMB: number;
  heapUsedMB: number;
  /** The machine's 1-minute load average at the end of the run: others' work on the shared cores. */
  loadAverage1m: number;
}

export interface SteadyContention {
  connections: number;
  seconds: number;
  gatewayDelayMs: number;
  statuses: Record<string, number>;
  conflictsPerSecond: number;
  latencyMs: LatencyFigures;
  ledgerExecutions: number | null;
}

/**
 * The floor: the same burst and the same steady load, with the same client, against
 * bench/floor-server.mjs (a bare node:http server answering every request with the service's 409
 * problem, doing no work). What the machine and the client cost: the service cannot do better.
 */
export interface FloorContention {
  /** The burst (load.ts mode `contention`, the same request count); every answer should be a 409. */
  burst: { statuses: Record<string, number>; p50: number | null; p99: number | null; conflictsPerSecond: number | null; wallMs: number };
  /** The steady load (autocannon, the same connections and seconds). */
  steady: { statuses: Record<string, number>; p50: number; p99: number; conflictsPerSecond: number };
}

export interface ContentionRun extends Omit<ContentionResult, 'kind'> {
  round: number;
  /** The same key repeated at --connections concurrency while its execution runs. */
  steady: SteadyContention;
  /** The same burst and steady load against the floor server, right after the service's. */
  floor: FloorContention;
  /** Charges in the gateway ledger for the key (GET /api/admin/provider/charges?idempotencyKey=). */
  ledgerExecutions: number | null;
  /** HSETNX on the gateway ledger during the burst: charges attempted. */
  gatewayCharges: number;
  redis: Pick<RedisFigures, 'commandsPerRequest' | 'roundTripsPerRequest' | 'commands' | 'roundTrips' | 'transactionCommands' | 'writesPerRequest'>;
  gatewayDelayMs: number;
}

export interface SoakResult {
  seconds: number;
  reqPerSecFirst10s: number;
  reqPerSecRest: number;
  /** Median RSS over seconds 6–10 (RSS saws with every GC cycle: one sample would be noise). */
  rssAfter10sMB: number;
  /** Median RSS over the last 5 seconds. */
  rssAfterSoakMB: number;
  /** RSS growth over the soak after its first 10 s, MB per minute (least squares over the samples). */
  rssSlopeMBPerMinute: number;
  heapAfter10sMB: number;
  heapAfterSoakMB: number;
  ratio: number;
  /** [seconds since start, RSS MB] every second. */
  series: Array<[number, number]>;
}

export interface ScenarioSummary {
  scenario: ThroughputScenario;
  side: Side;
  label: string;
  rounds: number;
  reqPerSec: number;
  latencyMs: { p50: number; p97_5: number; p99: number };
  non2xx: Record<string, number>;
  commandsPerRequest: number;
  roundTripsPerRequest: number;
  writesPerRequest: number;
  idempotencyRoundTripsPerRequest: number | null;
  idempotencyRoundTripsByBaselinePerRequest: number | null;
  scriptCallsPerRequest: number;
  executionsPerRequest: number;
  /** PostgreSQL statements (round trips) per request; 0 for a build without PostgreSQL. */
  postgresStatementsPerRequest: number;
  elu: number;
  loopUsPerRequest: number;
  cpuUsPerRequest: number;
  rssMB: number;
  /**
   * Issue 24, fresh rows of the current build: the outbox lag's p99 and max over every sample of
   * every round (pooled), the median of the per-round event CPU (µs per event) and share of a
   * charge (`worker` row), and on the default adapter's row the in-process cross-check: its CPU per
   * request over the `worker` row's service CPU per request in the same round, minus 1 (median).
   */
  events?: {
    lagP99S: number | null;
    lagMaxS: number | null;
    drainMsMax: number | null;
    eventCpuUs: number | null;
    shareOfCharge: number | null;
    inProcessShare: number | null;
  };
  /** Medians of the per-round ratios to the same round's baseline. */
  vsBaseline: {
    reqPerSec: number;
    p99: number;
    loopUs: number;
    cpuUs: number;
    perRound: Array<{ round: number; reqPerSec: number; p99: number; loopUs: number; cpuUs: number }>;
  } | null;
  /** Medians of the per-round ratios to the same scenario on the `--ref` side in the same round. */
  vsRef: {
    reqPerSec: number;
    cpuUs: number;
    perRound: Array<{ round: number; reqPerSec: number; cpuUs: number }>;
  } | null;
}

export interface ContentionSummary {
  rounds: number;
  executionsPerRound: Array<number | null>;
  conflictP50Ms: number | null;
  conflictP99Ms: number | null;
  whileRunningP99Ms: number | null;
  conflictsWhileRunning: number;
  conflicts: number;
  replays: number;
  freshLatencyMs: number | null;
  roundTripsPerRequest: number;
  steadyExecutionsPerRound: Array<number | null>;
  steadyP50Ms: number | null;
  steadyP99Ms: number | null;
  /** Medians over the rounds of the floor's figures, and of the per-round ratios service p99 ÷ floor p99. */
  floor: {
    burstP50Ms: number | null;
    burstP99Ms: number | null;
    burstConflictsPerSecond: number | null;
    burstWallMs: number | null;
    /** The service's 409 p99 while the execution runs (the target's figure) ÷ the floor's 409 p99, same round. */
    burstP99Ratio: number | null;
    steadyP50Ms: number | null;
    steadyP99Ms: number | null;
    steadyConflictsPerSecond: number | null;
    /** The service's steady 409 p99 ÷ the floor's steady 409 p99, same round. */
    steadyP99Ratio: number | null;
  };
}

export const PROFILED_SCENARIOS = ['fresh', 'replay', 'baseline'] as const;

export interface ProfiledRun extends ProfileSummary {
  scenario: (typeof PROFILED_SCENARIOS)[number];
  reqPerSec: number;
  requests: number;
  /** Busy CPU time of the service's main thread per request, µs. */
  busyUsPerRequest: number;
}

export interface TargetResult {
  name: string;
  /** INFO: not a target but a reference to read one by (the contention floor); its `target` is empty. */
  status: 'PASS' | 'FAIL' | 'SKIP' | 'INFO';
  value: string;
  target: string;
}

export interface BenchResult {
  startedAt: string;
  finishedAt: string;
  options: BenchOptions;
  machine: { node: string; cpus: number; cpuModel: string; loadAverageAtStart: number[]; redis: string };
  git: { commit: string | null; dirtyFiles: number | null; /** The commit `--ref` named. */ refCommit: string | null };
  checks: string[];
  runs: ThroughputRun[];
  contention: ContentionRun[];
  soak: SoakResult | null;
  /** --cpu-prof: fresh and replay on the default adapter (and the baseline, to compare) on processes of their own. */
  profiles: ProfiledRun[];
  summary: { scenarios: ScenarioSummary[]; contention: ContentionSummary | null };
  targets: TargetResult[];
}
