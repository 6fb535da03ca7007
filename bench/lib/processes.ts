/** The processes of a run (builds, the `--ref` worktree, Redis servers, databases, sides, the floor server, load) and their clean-up. */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { createPaymentsApi } from '@idempotent-payments/client';
import { Redis } from 'ioredis';
import pg from 'pg';
import { ManagedProcess, RabbitMqVhost, RedisServer, runToExit, ServiceProcess, stopAll, TestDatabase } from '../../test/harness/index.js';
import type { AutocannonOutput, ContentionResult, LoadOptions } from '../load.js';
import { DEFAULT_ADAPTER, type HttpAdapter, isLayerSide, layerVariant, type Scenario, type Side, sideName } from './sides.js';

export const ROOT = join(import.meta.dirname, '..', '..');
/** Generated, not in git: each run's JSON and CPU profiles. */
export const RESULTS_DIR = join(ROOT, 'bench', 'results');
export const API_KEY = 'sk_bench_0123456789abcdef';
const ADMIN_TOKEN = `bench_admin_${randomBytes(12).toString('hex')}`;
/** What the load sends: the service's charge, or the layer server's trivial route. */
const CHARGE = { path: '/api/payments/charge', body: JSON.stringify({ amount: 1999, currency: 'EUR', customerId: 'cus_bench' }) };
const LAYER_ITEM = { path: '/items', body: JSON.stringify({ name: 'widget', quantity: 3, tags: ['a', 'b'] }) };

export interface BenchOptions {
  seconds: number;
  connections: number;
  scenarios: Scenario[];
  adapters: HttpAdapter[];
  ref: string | null;
  rounds: number;
  soakSeconds: number;
  quick: boolean;
  cpuProf: boolean;
  warmupSeconds: number;
  leadInSeconds: number;
  contentionRequests: number;
  build: boolean;
}

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** By URL: the `--ref` side runs this checkout's probe too; it instruments the ioredis and pg of the process's cwd. */
const PROBE = pathToFileURL(join(ROOT, 'bench', 'probe.mjs')).href;

/**
 * What bench/probe.mjs answers, cumulative (a run diffs two): ELU; CPU µs of all threads; Redis round
 * trips by command (a script by name, a MULTI/EXEC block as "multi") and socket writes; PostgreSQL
 * statements by prepared name (BEGIN/COMMIT/ROLLBACK, else `text`); CLOCK_MONOTONIC µs, the clock of V8's CPU profiles.
 */
export interface ProbeSample {
  elu: { idle: number; active: number };
  cpuUs: number;
  redis: Record<string, number>;
  redisWrites: number;
  postgres: Record<string, number>;
  monotonicUs: number;
}

/** Every process a side ran, for their logs when the bench fails. */
export const servicesStarted: ServiceProcess[] = [];

/** A process of the harness with bench/probe.mjs preloaded, and the bench's questions to the probe. */
async function startProbed(
  name: string,
  env: Record<string, string>,
  options: { cwd?: string; entry?: string; nodeArgs?: string[]; isReady?: (server: ServiceProcess) => Promise<boolean> } = {},
) {
  const { entry = 'dist/main.js', nodeArgs = [] } = options;
  log(
    `bench: starting ${name} (${env.HTTP_ADAPTER ? `HTTP_ADAPTER=${env.HTTP_ADAPTER} ` : ''}node ${[...nodeArgs, entry].join(' ')} in ${options.cwd ?? ROOT})`,
  );
  const service = await ServiceProcess.start(env, { ...options, name, nodeArgs: [...nodeArgs, '--import', PROBE], ipc: true });
  servicesStarted.push(service);
  // One question at a time per process: the next message is the answer.
  const ask = async (type: 'sample' | 'exit') => {
    const child = service.process?.child;
    if (!child?.connected) throw new Error(`${name} is not running`);
    child.send({ type });
    return (await once(child, 'message', { signal: AbortSignal.timeout(15_000) }))[0] as ProbeSample;
  };
  return Object.assign(service, {
    sample: () => ask('sample'),
    /** VmRSS from /proc, bytes; 0 once the process is gone. */
    rss: () => (service.pid === undefined ? 0 : Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${service.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024),
    /** A normal exit, which --cpu-prof needs to write its file; SIGTERM, SIGKILL if it does not come. */
    async exitNormally() {
      const running = service.process;
      await ask('exit').catch(() => undefined);
      if (running && !(await running.waitForExit(15_000))) await running.stop();
    },
  });
}

export type ProbedService = Awaited<ReturnType<typeof startProbed>>;

/**
 * A side's storage: a redis-server of its own (each service runs the events consumer in process,
 * and on a shared Redis an idle one would consume the events the measured one produces), and for
 * the current build a database and a broker vhost of its own on the shared servers, dropped at the end.
 */
export interface Store {
  server: RedisServer;
  client: Redis;
  database?: { database: TestDatabase; vhost: RabbitMqVhost; client: pg.Client };
}

const stores: Store[] = [];
let refCheckout: string | undefined;

export async function startStore(name: string, withDatabase: boolean): Promise<Store> {
  const server = await RedisServer.start();
  const store: Store = { server, client: new Redis(server.url, { maxRetriesPerRequest: 1 }) };
  stores.push(store);
  if (withDatabase) {
    const [database, vhost] = await Promise.all([TestDatabase.create(), RabbitMqVhost.create()]);
    store.database = { database, vhost, client: new pg.Client(database.connection) };
    await store.database.client.connect();
  }
  log(`bench: redis-server ${server.url}${store.database ? `, database ${store.database.database.name}` : ''} for the ${name}`);
  return store;
}

/** Every run starts from an empty Redis and empty tables (the migrations' record kept): the same key space for every scenario and round. */
export async function emptyStore(store: Store): Promise<void> {
  await store.client.flushall();
  if (!store.database) return;
  const { rows } = await store.database.client.query<{ name: string }>(
    `SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables WHERE schemaname IN ('public', 'gateway') AND tablename <> 'schema_migrations'`,
  );
  if (rows.length > 0) await store.database.client.query(`TRUNCATE ${rows.map((row) => row.name).join(', ')}`);
}

let stopping: Promise<void> | undefined;

/** Stops what the bench started, drops its databases and removes the `--ref` worktree: at the end, on an error and on Ctrl-C; once. */
export function stopEverything(): Promise<void> {
  stopping ??= (async () => {
    for (const store of stores) store.client.disconnect();
    await stopAll();
    for (const { database } of stores) {
      if (!database) continue;
      await database.client.end().catch(() => undefined);
      await database.database.drop().catch((error: unknown) => log(`bench: dropping ${database.database.name} failed: ${String(error)}`));
      await database.vhost.delete().catch((error: unknown) => log(`bench: deleting the vhost ${database.vhost.name} failed: ${String(error)}`));
    }
    if (refCheckout) {
      log(`bench: removing the worktree ${refCheckout}`);
      await runToExit('git', ['worktree', 'remove', '--force', refCheckout], { cwd: ROOT });
      // Retried: an interrupted `npm ci` may leave a child writing there for a moment.
      rmSync(dirname(refCheckout), { recursive: true, force: true, maxRetries: 5 });
      // A worktree interrupted while it was being added is unknown to `remove` but registered.
      await runToExit('git', ['worktree', 'prune'], { cwd: ROOT });
    }
  })();
  return stopping;
}

export async function runStep(command: string, args: string[], cwd = ROOT): Promise<void> {
  log(`bench: ${command} ${args.join(' ')}${cwd === ROOT ? '' : ` (in ${cwd})`}`);
  const { code } = await ManagedProcess.spawn(command, args, { cwd, env: process.env, stdout: 'stderr', stderr: 'stderr' }).exited;
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${code})`);
}

/** The service as it was at a git ref: a detached worktree in a temporary folder, built there; the `ref` side runs it. */
export async function buildRef(ref: string): Promise<void> {
  refCheckout = join(mkdtempSync(join(tmpdir(), 'bench-ref-')), 'checkout');
  await runStep('git', ['worktree', 'add', '--detach', refCheckout, ref]);
  await runStep('npm', ['ci', '--no-audit', '--no-fund'], refCheckout);
  await runStep('npm', ['run', 'build'], refCheckout);
}

/** What scenarios run against: the options, each side's store and (during a round) process, the floor server. */
export interface Context {
  options: BenchOptions;
  stores: Partial<Record<Side | 'layer', Store>>;
  processes: Partial<Record<Side, ProbedService>>;
  /** The `worker` side's events worker of this round. */
  worker?: ProbedService;
  floor?: LoadTarget;
}

/** The layer sides share one store, the others have one each. */
export function storeOf(context: Context, side: Side): Store {
  const store = context.stores[isLayerSide(side) ? 'layer' : side];
  if (!store) throw new Error(`no Redis was started for the ${side} side`);
  return store;
}

export const requestOf = (side: Side) => (isLayerSide(side) ? LAYER_ITEM : CHARGE);

/**
 * A new process of a side, named `<side> <suffix>`; `nodeArgs` go before the entry (--cpu-prof).
 * Every service side gets the same environment (a build ignores the variables it does not know);
 * HTTP_ADAPTER tells the adapters apart.
 */
export async function startSide(context: Context, side: Side, suffix: string, nodeArgs: string[] = []): Promise<ProbedService> {
  const store = storeOf(context, side);
  const database = store.database && { DATABASE_URL: store.database.database.url, BROKER_URL: store.database.vhost.url };
  const name = `${sideName(side, context.options.ref)} ${suffix}`;
  if (isLayerSide(side)) {
    const { adapter, variant } = layerVariant(side);
    const [layerStore, handler = 'returning'] = variant === 'bare' ? ['none'] : variant === 'peer' ? ['redis'] : variant.split(' ');
    const layer = { ADAPTER: adapter, LAYER: variant === 'peer' ? 'peer' : 'ours', STORE: layerStore!, HANDLER: handler };
    // tsx's ESM loader only: its CommonJS hook would give the peer's require('@nestjs/core') a copy of NestJS of its own.
    const options = { entry: 'bench/layer-server.ts', nodeArgs: [...nodeArgs, '--import', 'tsx/esm'], isReady: listens };
    return startProbed(name, { ...layer, REDIS_URL: store.server.url, ...database }, options);
  }
  // Production, quiet, an instant gateway; stopped between rounds, so no drain to wait for.
  const service = { NODE_ENV: 'production', LOG_LEVEL: 'warn', GATEWAY_MIN_DELAY_MS: '0', GATEWAY_MAX_DELAY_MS: '0', SHUTDOWN_DRAIN_MS: '0' };
  const env = { ...database, ...service, API_KEYS: `bench:${API_KEY}`, ADMIN_TOKEN, RATE_LIMIT_MAX: '0', REDIS_URL: store.server.url };
  if (side === 'baseline')
    return startProbed(name, { ...env, HTTP_ADAPTER: DEFAULT_ADAPTER }, { entry: 'bench/baseline.ts', nodeArgs: [...nodeArgs, '--import', 'tsx'] });
  if (side === 'ref') return startProbed(name, env, { cwd: refCheckout, nodeArgs });
  if (side !== 'worker') return startProbed(name, { ...env, HTTP_ADAPTER: side }, { nodeArgs });
  // The service without the event path (it still writes each charge's outbox row), and the events
  // worker beside it on the same Redis, database and vhost: its CPU is what the events cost. The service first (it migrates).
  const withoutEvents = await startProbed(name, { ...env, HTTP_ADAPTER: DEFAULT_ADAPTER, EVENTS_WORKER: 'false' }, { nodeArgs });
  context.worker = await startProbed(`${name} (events worker)`, env, { entry: 'dist/worker.js' });
  return withoutEvents;
}

/** The typed API of the client package, as the bench's admin. */
export function adminApi(service: LoadTarget) {
  return createPaymentsApi(service.baseUrl, { headers: { 'X-Admin-Token': ADMIN_TOKEN, Authorization: `Bearer ${API_KEY}` } });
}

export async function setGatewayDelay(service: LoadTarget, delayMs: number): Promise<void> {
  const { response } = await adminApi(service).PUT('/api/admin/payment-behavior', { body: { minDelayMs: delayMs, maxDelayMs: delayMs } });
  if (!response.ok) throw new Error(`PUT /api/admin/payment-behavior answered ${response.status}`);
}

/** Charges in the gateway's ledger for a key. */
export async function ledgerCount(service: LoadTarget, idempotencyKey: string): Promise<number | null> {
  const { data } = await adminApi(service).GET('/api/admin/provider/charges', { params: { query: { idempotencyKey } } });
  const charges = Array.isArray(data) ? data : (data as { charges?: unknown[] } | undefined)?.charges;
  return Array.isArray(charges) ? charges.length : null;
}

/** Ready once it answers anything: the layer and floor servers have no /health. */
const listens = (server: ServiceProcess) => fetch(server.baseUrl).then(() => true);

/** What load is sent to: a side's process, or the floor server. */
export type LoadTarget = Pick<ServiceProcess, 'name' | 'baseUrl'>;

/** bench/floor-server.mjs, once it listens: node:http answering every request with the service's 409. */
export async function startFloor(): Promise<LoadTarget> {
  log('bench: starting the floor server (node bench/floor-server.mjs)');
  return ServiceProcess.start({}, { name: 'floor server', entry: 'bench/floor-server.mjs', ipc: true, isReady: listens });
}

export function loadOptions(mode: LoadOptions['mode'], label: string, target: LoadTarget, side: Side, extra: Partial<LoadOptions>): LoadOptions {
  const keyPrefix = `${label.replace(/\s+/g, '-')}-${randomBytes(4).toString('hex')}`;
  return { mode, label, baseUrl: target.baseUrl, apiKey: API_KEY, ...requestOf(side), keyPrefix, connections: 50, ...extra };
}

/** bench/load.ts in a process of its own; `beforeGo` runs once it is loaded and before it sends anything, so its start-up is not measured. */
export async function runLoad<T extends AutocannonOutput | ContentionResult>(options: LoadOptions, beforeGo?: () => Promise<void>): Promise<T> {
  const spawnOptions = { name: `load ${options.label}`, cwd: ROOT, env: process.env, stdin: 'pipe', stderr: 'stderr' } as const;
  const load = ManagedProcess.spawn(process.execPath, ['--import', 'tsx', 'bench/load.ts', JSON.stringify(options)], spawnOptions);
  try {
    let output: string | undefined;
    for await (const line of createInterface({ input: load.child.stdout! })) {
      if (line === 'ready') {
        await beforeGo?.();
        load.child.stdin!.end('go\n');
      } else if (line.startsWith('{')) output = line;
    }
    const { code } = await load.exited;
    if (code !== 0 || output === undefined) throw new Error(`the load process (${options.label}) failed with exit code ${code}`);
    return JSON.parse(output) as T;
  } finally {
    await load.crash();
  }
}
