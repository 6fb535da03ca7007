#!/usr/bin/env -S npx tsx
/**
 * What does idempotency cost? `npm run bench` (issue 7).
 *
 *   npm run bench                                   # everything, defaults below
 *   npm run bench -- --seconds 10 --rounds 2 --quick
 *   npm run bench -- --scenarios baseline,fresh --rounds 3
 *   npm run bench -- --quick --cpu-prof             # plus CPU profiles of fresh and baseline
 *
 * It builds the service, starts its own redis-server on a free port (never the shared 6379) and
 * two services against it: the production build (`node dist/main.js`) and the baseline
 * (bench/baseline-main.ts: the same build with the idempotency interceptor overridden by a bypass).
 * Load comes from autocannon in a separate process (bench/load.ts). The contention scenario also
 * sends its load to bench/floor-server.mjs (a bare node:http server answering a fixed 409): the
 * floor the machine and the client allow, measured in the same run. Scenarios are interleaved round
 * by round, so drift of this shared 2-core machine hits all of them; ratios to the baseline come
 * from the same round. Writes bench/results/<date>.json and .svg, bench/chart.svg, and the table
 * between the markers of bench/README.md. Progress goes to stderr, the summary to stdout. Every
 * process it started is stopped at the end, on error and on Ctrl-C.
 *
 * Exit codes: 0 measured (targets may still FAIL: they are printed), 1 the bench itself failed,
 * 2 bad arguments.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { parseCli, positiveInt, UsageError } from '../scripts/lib/cli.js';
import { freePort, hasRedisServerBinary, ManagedProcess, RedisServer, stopAll } from '../tools/process/index.js';
import { ProbedService, type ProbeSample } from './lib/probed-service.js';
import { renderChart } from './lib/chart.js';
import { summarizeCpuProfile } from './lib/cpu-profile.js';
import { attributeRoundTrips, evaluateTargets, formatRatio, formatTargets, median, renderMarkdown, round, summarizeContention, summarizeScenarios } from './lib/report.js';
import {
  ALL_SCENARIOS,
  type BenchOptions,
  type BenchResult,
  type ContentionRun,
  type FloorContention,
  type SteadyContention,
  type ProfiledRun,
  type RedisFigures,
  type Scenario,
  type SoakResult,
  type ThroughputRun,
  type ThroughputScenario,
  THROUGHPUT_SCENARIOS,
} from './lib/types.js';
import type { ContentionResult, LoadOptions } from './load.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BENCH_DIR = join(ROOT, 'bench');
const RESULTS_DIR = join(BENCH_DIR, 'results');
const README = join(BENCH_DIR, 'README.md');
const MARKER_START = '<!-- results:start -->';
const MARKER_END = '<!-- results:end -->';

const API_KEY = 'sk_bench_0123456789abcdef';
const ADMIN_TOKEN = `bench_admin_${randomBytes(12).toString('hex')}`;
const BODY = JSON.stringify({ amount: 1999, currency: 'EUR', customerId: 'cus_bench' });
const REPLAY_KEYS = 1000;
const MIXED_DUPLICATE_SHARE = 0.1;
const CONTENTION_DELAY_MS = 200;
const STEADY_SECONDS = 2;
const STEADY_DELAY_MS = 3000;
const SOAK_FIRST_SECONDS = 10;
/** Commands the bench's own Redis client and the services' connection set-up send: not request work. */
const NOT_REQUEST_WORK = /^(info|flushall|flushdb|config\|.*|client\|.*|hello|select|ping|quit)$/;
/**
 * The idempotency layer's own round trips, as the probe labels them: the store's begin/complete
 * scripts (src/idempotency/redis-idempotency.store.ts; the scripts that touch a record's lock,
 * `idempotency:{…}:lock`: the events worker's consumed markers share the record namespace but
 * take no lock) and Redlock's lock scripts (@sesamecare-oss/redlock). With REDIS_LOCK_URLS (not
 * benchmarked) it would also GET records.
 */
const IDEMPOTENCY_ROUND_TRIP = /^(evalsha|eval):([^#]*idempotency:\{\}:lock|acquireLock$|extendLock$|releaseLock$)/;

const USAGE = `Usage: npm run bench -- [options]

  --seconds <n>              length of each measured run (default 10)
  --connections <n>          autocannon connections (default 50)
  --scenarios <list>         comma list of ${ALL_SCENARIOS.join(',')} (default all)
  --rounds <n>               interleaved rounds: baseline, fresh, replay, mixed, contention, again (default 3)
  --soak-seconds <n>         memory check: RSS after 10 s vs after n s of fresh keys (default 60)
  --quick                    skip the soak
  --cpu-prof                 also profile the fresh scenario, and the baseline to compare, with
                             node --cpu-prof on processes of their own; .cpuprofile files in bench/results/
  --warmup-seconds <n>       unmeasured load on each new service process (every round starts new ones) (default 3)
  --lead-in-seconds <n>      unmeasured load of the same scenario right before each measured run (default 2)
  --contention-requests <n>  requests in the contention burst (default 1000); the same burst, and the
                             same steady load, also go to a bare node:http server answering a fixed
                             409 (bench/floor-server.mjs): the floor of this machine and client
  --no-build                 use dist/ as it is instead of running \`npm run build\`
  --report <results.json>    measure nothing: redraw the chart and the README table from a results file
  --help                     show this help

Exit codes: 0 measured (failed targets are printed, not an error), 1 the bench failed, 2 bad arguments.`;

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

function parseOptions(argv: string[]): BenchOptions | 'help' | { report: string } {
  const values = parseCli(argv, {
    seconds: { type: 'string' },
    connections: { type: 'string' },
    scenarios: { type: 'string' },
    rounds: { type: 'string' },
    'soak-seconds': { type: 'string' },
    quick: { type: 'boolean' },
    'cpu-prof': { type: 'boolean' },
    'warmup-seconds': { type: 'string' },
    'lead-in-seconds': { type: 'string' },
    'contention-requests': { type: 'string' },
    'no-build': { type: 'boolean' },
    report: { type: 'string' },
    help: { type: 'boolean' },
  });
  if (values.help) return 'help';
  if (values.report !== undefined) return { report: values.report };
  const scenarios = (values.scenarios ?? ALL_SCENARIOS.join(','))
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of scenarios) {
    if (!(ALL_SCENARIOS as readonly string[]).includes(name)) throw new UsageError(`unknown scenario "${name}"; choose from ${ALL_SCENARIOS.join(', ')}`);
  }
  if (scenarios.length === 0) throw new UsageError('--scenarios is empty');
  const soakSeconds = positiveInt('--soak-seconds', values['soak-seconds'], 60);
  if (soakSeconds <= SOAK_FIRST_SECONDS) throw new UsageError(`--soak-seconds must be more than ${SOAK_FIRST_SECONDS}`);
  return {
    seconds: positiveInt('--seconds', values.seconds, 10),
    connections: positiveInt('--connections', values.connections, 50),
    scenarios: ALL_SCENARIOS.filter((name) => scenarios.includes(name)),
    rounds: positiveInt('--rounds', values.rounds, 3),
    soakSeconds,
    quick: values.quick ?? false,
    cpuProf: values['cpu-prof'] ?? false,
    warmupSeconds: nonNegativeInt('--warmup-seconds', values['warmup-seconds'], 3),
    leadInSeconds: nonNegativeInt('--lead-in-seconds', values['lead-in-seconds'], 2),
    contentionRequests: positiveInt('--contention-requests', values['contention-requests'], 1000),
    build: !(values['no-build'] ?? false),
  };
}

function nonNegativeInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(Number(raw))) throw new UsageError(`${name} must be an integer, got "${raw}"`);
  return Number(raw);
}

// ---------------------------------------------------------------------------------------------
// Everything started is stopped again
// ---------------------------------------------------------------------------------------------

/**
 * A redis-server of the bench's own, and the bench's client of it (INFO, FLUSHALL). The baseline
 * and the service each get one: both run the payment-events consumer in process, and on a shared
 * Redis the idle one would consume (do the work of) the events the measured one produces.
 */
interface Store {
  name: string;
  server: RedisServer;
  client: Redis;
}

const started = {
  stores: new Set<Store>(),
  services: new Set<ProbedService>(),
  /** Every service process ever started, for their logs when the bench fails. */
  everStarted: [] as ProbedService[],
};

async function startStore(name: string): Promise<Store> {
  const server = await RedisServer.start();
  const store: Store = { name, server, client: new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 }) };
  started.stores.add(store);
  await store.client.connect();
  log(`bench: redis-server for the ${name} on ${server.url}`);
  return store;
}

async function stopEverything(): Promise<void> {
  for (const store of started.stores) store.client.disconnect();
  started.stores.clear();
  started.services.clear();
  // The services with their shutdown hooks, redis-servers, the build, load processes, the floor server.
  await stopAll();
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

// ---------------------------------------------------------------------------------------------
// Processes: build, services, load
// ---------------------------------------------------------------------------------------------

async function build(): Promise<void> {
  log('bench: npm run build');
  const { code } = await ManagedProcess.spawn('npm', ['run', 'build'], { cwd: ROOT, env: process.env, stdout: 'stderr', stderr: 'stderr' }).exited;
  if (code !== 0) throw new Error(`npm run build failed (exit ${code})`);
}

function serviceEnv(redisUrl: string): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    API_KEYS: `bench:${API_KEY}`,
    ADMIN_TOKEN,
    RATE_LIMIT_MAX: '0',
    GATEWAY_MIN_DELAY_MS: '0',
    GATEWAY_MAX_DELAY_MS: '0',
    REDIS_URL: redisUrl,
  };
}

async function startService(name: string, redisUrl: string, nodeArgs: string[] = []): Promise<ProbedService> {
  log(`bench: starting ${name} (node ${[...nodeArgs, 'dist/main.js'].join(' ')})`);
  const service = await ProbedService.start({ name, env: serviceEnv(redisUrl), nodeArgs });
  started.services.add(service);
  started.everStarted.push(service);
  return service;
}

async function startBaseline(redisUrl: string, nodeArgs: string[] = []): Promise<ProbedService> {
  log(`bench: starting baseline (node ${[...nodeArgs, '--import', 'tsx', 'bench/baseline-main.ts'].join(' ')}: dist/ with the idempotency interceptor bypassed)`);
  const service = await ProbedService.start({ name: 'baseline', env: serviceEnv(redisUrl), entry: 'bench/baseline-main.ts', nodeArgs: [...nodeArgs, '--import', 'tsx'] });
  started.services.add(service);
  started.everStarted.push(service);
  return service;
}

/** What load is sent to: a service, or the floor server. */
type LoadTarget = Pick<ProbedService, 'name' | 'baseUrl'>;

/**
 * bench/floor-server.mjs on a free port, once it listens: a bare node:http server answering every
 * request with the service's 409 problem. It has an IPC channel, so it exits if the bench dies;
 * stopEverything stops it with the other processes.
 */
async function startFloor(): Promise<LoadTarget> {
  const port = await freePort();
  log(`bench: starting the floor server (node bench/floor-server.mjs on port ${port}: node:http answering a fixed 409)`);
  const { child } = ManagedProcess.spawn(process.execPath, ['bench/floor-server.mjs'], {
    name: 'floor server',
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: String(port) },
    stderr: 'stderr',
    ipc: true,
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the floor server did not listen within 10 s')), 10_000);
    // Its one line on stdout says it listens.
    createInterface({ input: child.stdout! }).once('line', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the floor server exited before it listened (${signal ?? `exit code ${code}`})`));
    });
  });
  return { name: 'floor server', baseUrl: `http://127.0.0.1:${port}` };
}

async function stopService(service: ProbedService): Promise<void> {
  await service.stop();
  started.services.delete(service);
}

type AutocannonOutput = { kind: 'autocannon'; result: autocannon.Result; perSecond: number[] };

/**
 * Runs bench/load.ts in its own process; `beforeGo` runs once it is loaded and before it sends
 * anything (the "before" snapshots), so start-up time is outside the measurement.
 */
async function runLoad<T extends AutocannonOutput | ContentionResult>(options: LoadOptions, beforeGo?: () => Promise<void>): Promise<T> {
  const load = ManagedProcess.spawn(process.execPath, ['--import', 'tsx', 'bench/load.ts', JSON.stringify(options)], {
    name: `load ${options.label}`,
    cwd: ROOT,
    env: process.env,
    stdin: 'pipe',
    stderr: 'stderr',
  });
  const { child } = load;
  try {
    let output: string | undefined;
    const lines = createInterface({ input: child.stdout! });
    for await (const line of lines) {
      if (line === 'ready') {
        await beforeGo?.();
        child.stdin!.end('go\n');
      } else if (line.startsWith('{')) {
        output = line;
      }
    }
    const { code } = await load.exited;
    if (code !== 0 || output === undefined) throw new Error(`the load process (${options.label}) failed with exit code ${code}`);
    return JSON.parse(output) as T;
  } finally {
    await load.crash();
  }
}

function loadOptions(mode: LoadOptions['mode'], label: string, target: LoadTarget, extra: Partial<LoadOptions>): LoadOptions {
  return {
    mode,
    label,
    baseUrl: target.baseUrl,
    apiKey: API_KEY,
    body: BODY,
    keyPrefix: `${label.replace(/\s+/g, '-')}-${randomBytes(4).toString('hex')}`,
    connections: 50,
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------------
// Redis figures
// ---------------------------------------------------------------------------------------------

async function commandStats(client: Redis): Promise<Record<string, number>> {
  const info = await client.info('commandstats');
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (!NOT_REQUEST_WORK.test(match[1]!)) calls[match[1]!] = Number(match[2]);
  }
  return calls;
}

function delta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
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
async function quiesce(client: Redis): Promise<Record<string, number>> {
  let last = await commandStats(client);
  for (let attempt = 0; attempt < 30; attempt++) {
    await sleep(100);
    const now = await commandStats(client);
    if (total(now) === total(last)) return now;
    last = now;
  }
  return last;
}

function redisFigures(
  commands: Record<string, number>,
  before: ProbeSample,
  after: ProbeSample,
  requests: number,
): RedisFigures {
  const roundTrips = delta(after.redis, before.redis);
  const writes = after.redisWrites - before.redisWrites;
  const idempotencyRoundTrips = sumWhere(roundTrips, (name) => IDEMPOTENCY_ROUND_TRIP.test(name));
  const perRequest = (value: number) => (requests === 0 ? 0 : round(value / requests, 3));
  const executions = commands.hsetnx ?? 0;
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

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

interface Context {
  options: BenchOptions;
  baselineStore: Store;
  serviceStore: Store;
  service?: ProbedService;
  baseline?: ProbedService;
  /** bench/floor-server.mjs, when the contention scenario runs. */
  floor?: LoadTarget;
}

async function admin(service: ProbedService, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${service.baseUrl}${path}`, {
    method,
    headers: { 'X-Admin-Token': ADMIN_TOKEN, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as unknown;
}

async function charge(service: ProbedService, key: string): Promise<{ status: number; cached: string | null; location: string | null; id?: string }> {
  const response = await fetch(`${service.baseUrl}/api/payments/charge`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json', 'Idempotency-Key': key },
    body: BODY,
    signal: AbortSignal.timeout(15_000),
  });
  const payload = (await response.json()) as { id?: string };
  return { status: response.status, cached: response.headers.get('idempotency-cached'), location: response.headers.get('location'), id: payload.id };
}

/** Before measuring anything: the baseline really has no idempotency layer, the service really has one. */
async function sanityChecks(context: Context): Promise<string[]> {
  const checks: string[] = [];
  if (context.baseline) {
    const key = `sanity-baseline-${randomBytes(4).toString('hex')}`;
    const first = await charge(context.baseline, key);
    const second = await charge(context.baseline, key);
    if (first.status !== 201 || second.status !== 201 || first.location !== `/api/payments/${first.id}`) {
      throw new Error(`baseline: expected 201 with the charge's Location twice, got ${JSON.stringify([first, second])}`);
    }
    // The first middleware marks the route's answers Idempotency-Cached: false; only the interceptor replays.
    if (second.cached === 'true') {
      throw new Error('the baseline replayed the second request: overrideInterceptor did not replace IdempotencyInterceptor');
    }
    checks.push('baseline: 201 with Location twice with one key, the second not a replay (the interceptor is bypassed)');
  }
  if (context.service) {
    const key = `sanity-service-${randomBytes(4).toString('hex')}`;
    const first = await charge(context.service, key);
    const second = await charge(context.service, key);
    if (first.status !== 201 || first.cached !== 'false' || second.status !== 201 || second.cached !== 'true' || first.id !== second.id) {
      throw new Error(`service: expected 201 fresh then 201 replay of the same charge, got ${JSON.stringify([first, second])}`);
    }
    checks.push('service: 201 Idempotency-Cached: false, then 201 Idempotency-Cached: true with the same charge id');
  }
  for (const check of checks) log(`bench: check ok: ${check}`);
  await Promise.all([context.baselineStore.client.flushall(), context.serviceStore.client.flushall()]);
  return checks;
}

async function warmUp(context: Context): Promise<void> {
  const seconds = context.options.warmupSeconds;
  if (seconds === 0) return;
  for (const [service, store] of [[context.baseline, context.baselineStore], [context.service, context.serviceStore]] as const) {
    if (!service) continue;
    log(`bench: warming up ${service.name} for ${seconds} s (not measured)`);
    await runLoad(loadOptions('unique', `warm-up ${service.name}`, service, { seconds, connections: context.options.connections }));
    await store.client.flushall();
  }
}

async function runThroughput(context: Context, scenario: ThroughputScenario, round_: number, target: ProbedService, store: Store): Promise<ThroughputRun> {
  const { options } = context;
  const { client } = store;
  const seconds = options.seconds;
  const label = `${scenario} r${round_}`;
  log(`bench: ${label}: ${seconds} s, ${options.connections} connections against ${target.name}`);
  // Every run starts from an empty Redis: the same key space size for all scenarios and rounds.
  await client.flushall();
  const base: Partial<LoadOptions> = { seconds, connections: options.connections };
  let load: LoadOptions;
  if (scenario === 'replay') {
    const warm = loadOptions('sequence', `${label} warm`, target, { amount: REPLAY_KEYS, connections: options.connections });
    log(`bench: ${label}: warming ${REPLAY_KEYS} keys (one request each, not measured)`);
    const warmed = await runLoad<AutocannonOutput>(warm);
    if (warmed.result['2xx'] !== REPLAY_KEYS) throw new Error(`warming the replay keys: ${warmed.result['2xx']} of ${REPLAY_KEYS} answered 2xx`);
    load = { ...warm, ...base, mode: 'cycle', label, keyCount: REPLAY_KEYS, amount: undefined };
  } else if (scenario === 'mixed') {
    load = loadOptions('mixed', label, target, { ...base, duplicateShare: MIXED_DUPLICATE_SHARE, seed: round_ });
  } else {
    load = loadOptions('unique', label, target, base);
  }
  if (options.leadInSeconds > 0) {
    // A process that sat idle while the other scenarios ran is slower for its first seconds (heap
    // grown back, the events consumer catching up): a transient, not what a request costs. New keys
    // get a prefix of their own, so the measured run's keys are still new.
    const keyPrefix = load.mode === 'cycle' ? load.keyPrefix : `${load.keyPrefix}-lead-in`;
    await runLoad({ ...load, label: `${label} lead-in`, keyPrefix, seconds: options.leadInSeconds });
  }

  let before: { stats: Record<string, number>; probe: ProbeSample } | undefined;
  const output = await runLoad<AutocannonOutput>(load, async () => {
    before = { stats: await commandStats(client), probe: await target.sample() };
  });
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
  return {
    scenario,
    round: round_,
    process: target === context.baseline ? 'baseline' : 'service',
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

/** Least-squares slope of [x, y] points (y per x unit); 0 with fewer than two. */
function slope(points: Array<[number, number]>): number {
  if (points.length < 2) return 0;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / points.length;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / points.length;
  const numerator = points.reduce((sum, [x, y]) => sum + (x - meanX) * (y - meanY), 0);
  const denominator = points.reduce((sum, [x]) => sum + (x - meanX) ** 2, 0);
  return denominator === 0 ? 0 : numerator / denominator;
}

function eluBetween(before: ProbeSample, after: ProbeSample): number {
  const active = after.elu.active - before.elu.active;
  const idle = after.elu.idle - before.elu.idle;
  return active + idle === 0 ? 0 : round(active / (active + idle), 3);
}

async function runContention(context: Context, round_: number): Promise<ContentionRun> {
  const service = context.service!;
  const { client } = context.serviceStore;
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
      gatewayCharges: commands.hsetnx ?? 0,
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
async function runBurst(label: string, target: LoadTarget, requests: number, beforeGo?: () => Promise<void>): Promise<{ key: string; result: ContentionResult }> {
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
  const service = context.service!;
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
  log(`bench: contention floor r${round_}: the same burst (${requests} requests) and steady load (${connections} connections, ${STEADY_SECONDS} s) against the ${floor.name}`);
  const { result: burst } = await runBurst(`contention floor r${round_}`, floor, requests);
  const steady = await runSteadyLoad(`contention floor steady r${round_}`, floor, connections);
  return {
    burst: { statuses: burst.statuses, p50: burst.conflicts.p50, p99: burst.conflicts.p99, conflictsPerSecond: burst.conflictsPerSecond, wallMs: burst.wallMs },
    steady: { statuses: steady.statuses, p50: steady.latencyMs.p50, p99: steady.latencyMs.p99, conflictsPerSecond: steady.conflictsPerSecond },
  };
}

/** RSS after 10 s of fresh keys vs after the whole soak, on a service started for it. */
async function runSoak(context: Context): Promise<SoakResult> {
  const { options } = context;
  const { client, server } = context.serviceStore;
  const service = await startService('soak service', server.url);
  const series: Array<[number, number]> = [];
  // Seconds count from the moment the load starts; before that (warm-up, the load process starting) nothing is sampled.
  let startedAt: number | undefined;
  const timer = setInterval(() => {
    const rss = service.rssFromProc();
    if (rss !== undefined && startedAt !== undefined) series.push([Math.round((Date.now() - startedAt) / 1000), round(rss / 2 ** 20, 1)]);
  }, 1000);
  try {
    // The same warm-up as the measured services: a new process grows its heap to its working size
    // over its first seconds under load, which is start-up, not growth.
    if (options.warmupSeconds > 0) {
      log(`bench: soak: warming up for ${options.warmupSeconds} s (not measured)`);
      await runLoad(loadOptions('unique', 'soak warm-up', service, { seconds: options.warmupSeconds, connections: options.connections }));
    }
    await client.flushall();
    log(`bench: soak: fresh keys for ${SOAK_FIRST_SECONDS} s, then ${options.soakSeconds - SOAK_FIRST_SECONDS} s more`);
    const first = await runLoad<AutocannonOutput>(
      loadOptions('unique', 'soak 0-10 s', service, { seconds: SOAK_FIRST_SECONDS, connections: options.connections }),
      async () => {
        startedAt = Date.now();
      },
    );
    const at10 = await service.sample();
    const rest = await runLoad<AutocannonOutput>(
      loadOptions('unique', `soak 10-${options.soakSeconds} s`, service, { seconds: options.soakSeconds - SOAK_FIRST_SECONDS, connections: options.connections }),
    );
    const atEnd = await service.sample();
    clearInterval(timer);
    const windowMedian = (from: number, to: number) => median(series.filter(([t]) => t > from && t <= to).map(([, mb]) => mb));
    const end = series.at(-1)?.[0] ?? options.soakSeconds;
    const rss10 = windowMedian(SOAK_FIRST_SECONDS - 5, SOAK_FIRST_SECONDS);
    const rssEnd = windowMedian(end - 5, end);
    return {
      seconds: options.soakSeconds,
      reqPerSecFirst10s: round(first.result.requests.total / first.result.duration, 1),
      reqPerSecRest: round(rest.result.requests.total / rest.result.duration, 1),
      rssAfter10sMB: round(rss10, 1),
      rssAfterSoakMB: round(rssEnd, 1),
      rssSlopeMBPerMinute: round(60 * slope(series.filter(([t]) => t > SOAK_FIRST_SECONDS)), 2),
      heapAfter10sMB: round(at10.heapUsed / 2 ** 20, 1),
      heapAfterSoakMB: round(atEnd.heapUsed / 2 ** 20, 1),
      ratio: round(rssEnd / rss10, 3),
      series,
    };
  } finally {
    clearInterval(timer);
    await stopService(service);
    await client.flushall();
  }
}

/**
 * One scenario on a process of its own run with `node --cpu-prof`: warm-up, then the measured load,
 * then a normal exit (the profile is written at exit). Self time is summarised over the load
 * window only (the probe's monotonic clock is the profile's clock), not start-up or warm-up.
 */
async function runProfile(context: Context, stamp: string, scenario: 'fresh' | 'baseline'): Promise<ProfiledRun> {
  const { client, server } = scenario === 'fresh' ? context.serviceStore : context.baselineStore;
  // Node writes one profile per thread (tsx's module hooks run on a thread of their own), named
  // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile: collected in a scratch folder, the main
  // thread's (id 0) is kept.
  const scratch = join(RESULTS_DIR, `${stamp}-${scenario}.tmp`);
  const file = join(RESULTS_DIR, `${stamp}-${scenario}.cpuprofile`);
  const profileArgs = ['--cpu-prof', '--cpu-prof-dir', scratch];
  const service =
    scenario === 'fresh'
      ? await startService(`profiled ${scenario}`, server.url, profileArgs)
      : await startBaseline(server.url, profileArgs);
  try {
    await client.flushall();
    if (context.options.warmupSeconds > 0) {
      await runLoad(loadOptions('unique', `${scenario} profile warm-up`, service, { seconds: context.options.warmupSeconds, connections: context.options.connections }));
    }
    let startUs = 0;
    const output = await runLoad<AutocannonOutput>(
      loadOptions('unique', `${scenario} (profiled)`, service, { seconds: context.options.seconds, connections: context.options.connections }),
      async () => {
        startUs = (await service.sample()).monotonicUs;
      },
    );
    const endUs = (await service.sample()).monotonicUs;
    await service.exitNormally();
    started.services.delete(service);
    const mainThread = existsSync(scratch) ? readdirSync(scratch).find((entry) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(entry)) : undefined;
    if (!mainThread) throw new Error(`--cpu-prof wrote no main-thread profile into ${relative(ROOT, scratch)}`);
    renameSync(join(scratch, mainThread), file);
    rmSync(scratch, { recursive: true, force: true });
    const summary = summarizeCpuProfile(file, { root: ROOT, window: { startUs, endUs }, top: 25 });
    const requests = output.result.requests.sent;
    log(`bench: ${scenario} profile: ${relative(ROOT, file)}, ${summary.busyMs} ms busy over ${summary.windowMs} ms`);
    return {
      ...summary,
      file: relative(BENCH_DIR, file),
      scenario,
      reqPerSec: round(output.result.requests.total / output.result.duration, 1),
      requests,
      busyUsPerRequest: round((1000 * summary.busyMs) / Math.max(requests, 1), 1),
    };
  } finally {
    await stopService(service);
    rmSync(scratch, { recursive: true, force: true });
    await client.flushall();
  }
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

function gitInfo(): BenchResult['git'] {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean).length;
    return { commit, dirtyFiles: dirty };
  } catch {
    return { commit: null, dirtyFiles: null };
  }
}

/** The chart (dated and latest) and the README table, from a result. */
function writeOutputs(result: BenchResult, stamp: string): void {
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

function printSummary(result: BenchResult): void {
  const rows: string[][] = [['scenario', 'req/s', '×base', 'p50', 'p97.5', 'p99', 'p99×base', 'non-2xx', 'cmds/req', 'RT/req', 'idem RT/req', 'writes/req', 'ELU', 'CPU µs/req', '×base', 'RSS MB']];
  const f = (value: number | null | undefined, digits = 1) => (value === null || value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits));
  for (const summary of result.summary.scenarios) {
    rows.push([
      summary.scenario,
      f(summary.reqPerSec, 0),
      f(summary.vsBaseline?.reqPerSec, 2),
      f(summary.latencyMs.p50),
      f(summary.latencyMs.p97_5),
      f(summary.latencyMs.p99),
      f(summary.vsBaseline?.p99, 2),
      Object.entries(summary.non2xx).map(([status, count]) => `${status}x${count}`).join(',') || '0',
      f(summary.commandsPerRequest, 2),
      f(summary.roundTripsPerRequest, 2),
      f(summary.idempotencyRoundTripsPerRequest, 2),
      f(summary.writesPerRequest, 2),
      f(summary.elu, 2),
      f(summary.cpuUsPerRequest, 0),
      f(summary.vsBaseline?.cpuUs, 2),
      f(summary.rssMB, 0),
    ]);
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  console.log('');
  for (const row of rows) console.log(`  ${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ')}`);
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
    console.log(
      `\n  CPU profile of ${profile.scenario} (bench/${profile.file}): ${f(profile.busyUsPerRequest, 0)} µs busy per request; top self time:`,
    );
    for (const entry of profile.top.slice(0, 12)) {
      console.log(`    ${f(entry.selfPercent).padStart(5)} %  ${entry.function}  ${entry.location}${entry.line ? `:${entry.line}` : ''}`);
    }
  }
  console.log('\nTargets (issue 7):');
  for (const line of formatTargets(result.targets)) console.log(`  ${line}`);
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    const parsed = parseOptions(process.argv.slice(2));
    if (parsed === 'help') {
      console.log(USAGE);
      return 0;
    }
    if ('report' in parsed) {
      const result = JSON.parse(readFileSync(parsed.report, 'utf8')) as BenchResult;
      writeOutputs(result, result.startedAt.replace(/:/g, '-'));
      printSummary(result);
      return 0;
    }
    options = parsed;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`error: ${error.message}\nRun with --help to see the options.`);
    return 2;
  }
  if (!hasRedisServerBinary) {
    console.error('error: the bench starts its own redis-server and none is installed (apt-get install redis-server)');
    return 1;
  }

  const startedAt = new Date();
  const startedAtIso = startedAt.toISOString().replace(/\.\d+Z$/, 'Z');
  const stamp = startedAtIso.replace(/:/g, '-');
  const interrupt = (signal: NodeJS.Signals) => {
    log(`bench: ${signal}: stopping everything it started`);
    void stopEverything().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  mkdirSync(RESULTS_DIR, { recursive: true });

  const machine: BenchResult['machine'] = {
    node: process.versions.node,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    loadAverageAtStart: loadavg().map((value) => round(value, 2)),
    redis: execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).match(/v=(\S+)/)?.[0].replace('v=', 'Redis ') ?? 'Redis',
  };
  log(`bench: ${JSON.stringify(options)}`);
  log(`bench: Node ${machine.node}, ${machine.cpus} CPUs, load average ${machine.loadAverageAtStart.join(' ')}`);

  try {
    if (options.build) await build();
    if (!existsSync(join(ROOT, 'dist', 'main.js'))) throw new Error('dist/main.js is missing: run without --no-build');
    const baselineStore = await startStore('baseline');
    const serviceStore = await startStore('service');
    const wants = (scenario: Scenario) => options.scenarios.includes(scenario);
    const context: Context = { options, baselineStore, serviceStore, floor: wants('contention') ? await startFloor() : undefined };
    let checks: string[] = [];
    const runs: ThroughputRun[] = [];
    const contention: ContentionRun[] = [];
    for (let round_ = 1; round_ <= options.rounds; round_++) {
      log(`bench: ---- round ${round_} of ${options.rounds} ----`);
      // New processes every round: one that comes out slower for its whole life (JIT decisions, heap
      // layout, where the scheduler puts it: up to 25 % here) then weighs one round of the median.
      if (wants('baseline')) context.baseline = await startBaseline(baselineStore.server.url);
      if (options.scenarios.some((scenario) => scenario !== 'baseline')) context.service = await startService(`service r${round_}`, serviceStore.server.url);
      if (round_ === 1) checks = await sanityChecks(context);
      await warmUp(context);
      for (const scenario of THROUGHPUT_SCENARIOS) {
        if (!wants(scenario)) continue;
        const run =
          scenario === 'baseline'
            ? await runThroughput(context, scenario, round_, context.baseline!, baselineStore)
            : await runThroughput(context, scenario, round_, context.service!, serviceStore);
        log(
          `bench: ${scenario} r${round_}: ${run.reqPerSec} req/s, p99 ${run.latencyMs.p99} ms, ${run.redis.roundTripsPerRequest} round trips/req, ` +
            `${run.redis.commandsPerRequest} commands/req, ELU ${run.elu}, CPU ${run.cpuUsPerRequest} µs/req, RSS ${run.rssMB} MB, load average ${run.loadAverage1m}`,
        );
        runs.push(run);
      }
      if (wants('contention')) contention.push(await runContention(context, round_));
      for (const measured of [context.service, context.baseline]) if (measured) await stopService(measured);
    }
    attributeRoundTrips(runs);

    // The soak and the profiles use processes of their own on the same stores.
    const soak = options.quick || !wants('fresh') ? null : await runSoak(context);
    const profiles: ProfiledRun[] = [];
    if (options.cpuProf) {
      profiles.push(await runProfile(context, stamp, 'fresh'));
      if (wants('baseline')) profiles.push(await runProfile(context, stamp, 'baseline'));
    }

    const partial = {
      options,
      soak,
      summary: { scenarios: summarizeScenarios(runs), contention: summarizeContention(contention) },
    };
    const result: BenchResult = {
      startedAt: startedAtIso,
      finishedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      machine,
      git: gitInfo(),
      checks,
      runs,
      contention,
      profiles,
      ...partial,
      targets: evaluateTargets(partial),
    };

    const jsonFile = join(RESULTS_DIR, `${stamp}.json`);
    writeFileSync(jsonFile, `${JSON.stringify(result, null, 2)}\n`);
    writeOutputs(result, stamp);
    log(`bench: wrote ${relative(ROOT, jsonFile)}, ${relative(ROOT, join(RESULTS_DIR, `${stamp}.svg`))}, bench/chart.svg and the table in bench/README.md`);
    printSummary(result);
    return 0;
  } finally {
    await stopEverything();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (error: unknown) => {
    console.error('bench failed:', error instanceof Error ? error.message : error);
    if (error instanceof Error && error.cause) console.error('  cause:', error.cause);
    for (const service of started.everStarted) {
      const tail = service.logs.trim().split('\n').slice(-15).join('\n    ');
      if (tail) console.error(`  last lines of ${service.name}:\n    ${tail}`);
    }
    await stopEverything();
    process.exitCode = 1;
  },
);
