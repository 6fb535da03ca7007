/**
 * The processes of a bench run (builds, the `--ref` worktree, Redis stores, services, floor server,
 * load) and the requests every scenario sends.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type autocannon from 'autocannon';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort, ManagedProcess, RabbitMqVhost, RedisServer, runToExit, stopAll, TestDatabase } from '../../tools/process/index.js';
import type { ContentionResult, LoadOptions } from '../load.js';
import { ROOT } from './paths.js';
import { ProbedService } from './probed-service.js';
import { sideName } from './sides.js';
import { type BenchOptions, DEFAULT_ADAPTER, type Side } from './types.js';

export const API_KEY = 'sk_bench_0123456789abcdef';
export const ADMIN_TOKEN = `bench_admin_${randomBytes(12).toString('hex')}`;
export const BODY = JSON.stringify({ amount: 1999, currency: 'EUR', customerId: 'cus_bench' });

/**
 * A redis-server of the bench's own, and the bench's client of it (INFO, FLUSHALL). Every side gets
 * one: each runs the payment-events consumer in process, and on a shared Redis an idle one would
 * consume (do the work of) the events the measured one produces.
 */
export interface Store {
  name: string;
  server: RedisServer;
  client: Redis;
}

const stores = new Set<Store>();

/**
 * A database of the bench's own on the shared PostgreSQL server (127.0.0.1:5432, or $POSTGRES_URL)
 * for a side of the current build, created by the run and dropped at its end; the service migrates
 * it at start. The `--ref` side (053e3c3: records in Redis) needs none.
 */
export interface SideDatabase {
  database: TestDatabase;
  url: string;
  /** A broker vhost of its own for the side's events, deleted with the database. */
  vhost: RabbitMqVhost;
  /** The bench's own connection to it (emptying it between runs). */
  client: pg.Client;
}

const databases = new Set<SideDatabase>();

export async function startDatabase(name: string): Promise<SideDatabase> {
  const [database, vhost] = await Promise.all([TestDatabase.create(), RabbitMqVhost.create()]);
  const { host, port, user, database: dbName } = database.connection;
  const side: SideDatabase = {
    database,
    vhost,
    url: `postgres://${encodeURIComponent(user)}@${host}:${port}/${dbName}`,
    client: new pg.Client(database.connection),
  };
  databases.add(side);
  await side.client.connect();
  log(`bench: database ${dbName} for the ${name} on ${host}:${port}`);
  return side;
}

/**
 * Empties every table of the service's schema (the gateway's ledger and behaviour included, the
 * migrations' record kept): like FLUSHALL on its Redis, every run starts from the same empty
 * tables. Before the first migration there is nothing to empty.
 */
export async function emptyDatabase(side: SideDatabase): Promise<void> {
  const { rows } = await side.client.query<{ name: string }>(
    `SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables WHERE schemaname IN ('public', 'gateway') AND tablename <> 'schema_migrations'`,
  );
  if (rows.length > 0) await side.client.query(`TRUNCATE ${rows.map((row) => row.name).join(', ')}`);
}
/** Every service process started, for their logs when the bench fails. */
export const servicesStarted: ProbedService[] = [];
/** The `--ref` worktree, until it is removed. */
let refCheckout: string | undefined;

export async function startStore(name: string): Promise<Store> {
  const server = await RedisServer.start();
  const store: Store = { name, server, client: new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 }) };
  stores.add(store);
  await store.client.connect();
  log(`bench: redis-server for the ${name} on ${server.url}`);
  return store;
}

let stopping: Promise<void> | undefined;

/**
 * Stops what the bench started and removes the `--ref` worktree; at the end, on an error and on
 * Ctrl-C. Once: a Ctrl-C during a build also fails the build, whose error path calls it again, and
 * a second cleanup must not stop the first one's `git worktree remove`.
 */
export function stopEverything(): Promise<void> {
  stopping ??= (async () => {
    for (const store of stores) store.client.disconnect();
    stores.clear();
    // The services with their shutdown hooks, redis-servers, the builds, load processes, the floor server.
    await stopAll();
    // Then the databases (the services are gone): the bench's connection closed, each dropped.
    for (const side of databases) {
      await side.client.end().catch(() => undefined);
      await side.database.drop().catch((error: unknown) => log(`bench: dropping ${side.database.name} failed: ${String(error)}`));
      await side.vhost.delete().catch((error: unknown) => log(`bench: deleting the vhost ${side.vhost.name} failed: ${String(error)}`));
      log(`bench: dropped the database ${side.database.name}`);
    }
    databases.clear();
    await removeRefCheckout();
  })();
  return stopping;
}

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** A build step, its output on stderr with the bench's progress. */
async function runStep(command: string, args: string[], cwd: string): Promise<void> {
  log(`bench: ${command} ${args.join(' ')}${cwd === ROOT ? '' : ` (in ${cwd})`}`);
  const { code } = await ManagedProcess.spawn(command, args, { cwd, env: process.env, stdout: 'stderr', stderr: 'stderr' }).exited;
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${code})`);
}

export function build(): Promise<void> {
  return runStep('npm', ['run', 'build'], ROOT);
}

/** The full commit a git ref names, or null if it names none. */
export async function resolveRef(ref: string): Promise<string | null> {
  const { code, stdout } = await runToExit('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: ROOT });
  return code === 0 ? stdout.trim() : null;
}

/** The service as it was at a git ref: a detached worktree in a temporary folder, built there; returns the worktree. */
export async function buildRef(ref: string): Promise<string> {
  refCheckout = join(mkdtempSync(join(tmpdir(), 'bench-ref-')), 'checkout');
  await runStep('git', ['worktree', 'add', '--detach', refCheckout, ref], ROOT);
  await runStep('npm', ['ci', '--no-audit', '--no-fund'], refCheckout);
  await runStep('npm', ['run', 'build'], refCheckout);
  return refCheckout;
}

async function removeRefCheckout(): Promise<void> {
  const dir = refCheckout;
  if (!dir) return;
  refCheckout = undefined;
  log(`bench: removing the worktree ${dir}`);
  await runToExit('git', ['worktree', 'remove', '--force', dir], { cwd: ROOT });
  // Retried: an interrupted `npm ci` may leave a child writing there for a moment.
  rmSync(dirname(dir), { recursive: true, force: true, maxRetries: 5 });
  // A worktree interrupted while it was being added is unknown to `remove` but registered.
  await runToExit('git', ['worktree', 'prune'], { cwd: ROOT });
}

/**
 * The same for every service side (the ref's too: variables a build does not know are ignored by
 * its config validation); only HTTP_ADAPTER tells the adapters apart.
 */
function serviceEnv(redisUrl: string, side: SideDatabase | undefined): Record<string, string> {
  return {
    ...(side && { DATABASE_URL: side.url, BROKER_URL: side.vhost.url }),
    NODE_ENV: 'production',
    // Stopped between rounds: no drain to wait for.
    SHUTDOWN_DRAIN_MS: '0',
    LOG_LEVEL: 'warn',
    API_KEYS: `bench:${API_KEY}`,
    ADMIN_TOKEN,
    RATE_LIMIT_MAX: '0',
    GATEWAY_MIN_DELAY_MS: '0',
    GATEWAY_MAX_DELAY_MS: '0',
    REDIS_URL: redisUrl,
  };
}

async function startService(name: string, env: Record<string, string>, cwd: string, nodeArgs: string[]): Promise<ProbedService> {
  const where = cwd === ROOT ? '' : ` in ${cwd}`;
  log(`bench: starting ${name} (${env.HTTP_ADAPTER ? `HTTP_ADAPTER=${env.HTTP_ADAPTER} ` : ''}node ${[...nodeArgs, 'dist/main.js'].join(' ')}${where})`);
  const service = await ProbedService.start({ name, env, cwd, nodeArgs });
  servicesStarted.push(service);
  return service;
}

async function startBaseline(name: string, env: Record<string, string>, nodeArgs: string[]): Promise<ProbedService> {
  log(
    `bench: starting ${name} (HTTP_ADAPTER=${env.HTTP_ADAPTER} node ${[...nodeArgs, '--import', 'tsx', 'bench/baseline-main.ts'].join(' ')}: ` +
      'dist/ with the idempotency interceptor bypassed)',
  );
  const service = await ProbedService.start({ name, env, cwd: ROOT, entry: 'bench/baseline-main.ts', nodeArgs: [...nodeArgs, '--import', 'tsx'] });
  servicesStarted.push(service);
  return service;
}

/** What load is sent to: a service, or the floor server. */
export type LoadTarget = Pick<ProbedService, 'name' | 'baseUrl'>;

/**
 * bench/floor-server.mjs on a free port, once it listens: a bare node:http server answering every
 * request with the service's 409 problem. It has an IPC channel, so it exits if the bench dies;
 * stopEverything stops it with the other processes.
 */
export async function startFloor(): Promise<LoadTarget> {
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

export type AutocannonOutput = { kind: 'autocannon'; result: autocannon.Result; perSecond: number[] };

/**
 * Runs bench/load.ts in its own process; `beforeGo` runs once it is loaded and before it sends
 * anything (the "before" snapshots), so start-up time is outside the measurement.
 */
export async function runLoad<T extends AutocannonOutput | ContentionResult>(options: LoadOptions, beforeGo?: () => Promise<void>): Promise<T> {
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

export function loadOptions(mode: LoadOptions['mode'], label: string, target: LoadTarget, extra: Partial<LoadOptions>): LoadOptions {
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

/** What scenarios run against: the options, each side's store and (during a round) process, the floor server. */
export interface Context {
  options: BenchOptions;
  stores: Partial<Record<Side, Store>>;
  /** Each side of the current build's database (the `--ref` side has none). */
  databases: Partial<Record<Side, SideDatabase>>;
  processes: Partial<Record<Side, ProbedService>>;
  /** The `worker` side's events worker (dist/worker.js) of this round, beside its service. */
  workers: Partial<Record<Side, ProbedService>>;
  /** bench/floor-server.mjs, when the contention scenario runs. */
  floor?: LoadTarget;
  /** The worktree the `--ref` side runs from. */
  refCheckout?: string;
}

/** The store of a side of the run. */
export function storeOf(context: Context, side: Side): Store {
  const store = context.stores[side];
  if (!store) throw new Error(`no Redis was started for the ${side} side`);
  return store;
}

/** The processes of this round, by side. */
export function runningSides(context: Context): Array<[Side, ProbedService]> {
  return Object.entries(context.processes) as Array<[Side, ProbedService]>;
}

/** Stops the processes of this round (services and events workers). */
export async function stopRound(context: Context): Promise<void> {
  for (const [, measured] of runningSides(context)) await measured.stop();
  for (const worker of Object.values(context.workers)) await worker.stop();
  context.processes = {};
  context.workers = {};
}

/** The running process of a side in this round. */
export function processOf(context: Context, side: Side): ProbedService {
  const service = context.processes[side];
  if (!service) throw new Error(`no ${side} process runs in this round`);
  return service;
}

/**
 * A new process of one side on its store, named `<side> <suffix>`; `nodeArgs` go before the entry
 * (e.g. --cpu-prof). The baseline and the service's default side run on the default adapter.
 */
export function startSide(context: Context, side: Side, suffix: string, nodeArgs: string[] = []): Promise<ProbedService> {
  const env = serviceEnv(storeOf(context, side).server.url, context.databases[side]);
  const name = `${sideName(side, context.options.ref)} ${suffix}`;
  if (side === 'baseline') return startBaseline(name, { ...env, HTTP_ADAPTER: DEFAULT_ADAPTER }, nodeArgs);
  if (side === 'ref') {
    if (!context.refCheckout) throw new Error('the --ref side has no build');
    return startService(name, env, context.refCheckout, nodeArgs);
  }
  if (side === 'worker') return startServiceAndWorker(context, name, env, nodeArgs);
  return startService(name, { ...env, HTTP_ADAPTER: side }, ROOT, nodeArgs);
}

/**
 * The `worker` side: the service on the default adapter with EVENTS_WORKER=false (it writes each
 * charge's outbox row and nothing more of the event path), and `node dist/worker.js` (the relay,
 * the projections consumer, the reconciler) on the same Redis, database and vhost, with the probe
 * too: its CPU is what relaying and consuming the events cost. The service first (it migrates).
 */
async function startServiceAndWorker(context: Context, name: string, env: Record<string, string>, nodeArgs: string[]): Promise<ProbedService> {
  const service = await startService(name, { ...env, HTTP_ADAPTER: DEFAULT_ADAPTER, EVENTS_WORKER: 'false' }, ROOT, nodeArgs);
  const workerName = `${name} (events worker)`;
  log(`bench: starting ${workerName} (node dist/worker.js)`);
  const worker = await ProbedService.start({ name: workerName, env: { ...env, HTTP_ADAPTER: DEFAULT_ADAPTER }, cwd: ROOT, entry: 'dist/worker.js' });
  servicesStarted.push(worker);
  context.workers.worker = worker;
  return service;
}

export async function admin(service: ProbedService, method: string, path: string, body?: unknown): Promise<unknown> {
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

export async function charge(service: ProbedService, key: string): Promise<{ status: number; cached: string | null; location: string | null; id?: string }> {
  const response = await fetch(`${service.baseUrl}/api/payments/charge`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json', 'Idempotency-Key': key },
    body: BODY,
    signal: AbortSignal.timeout(15_000),
  });
  const payload = (await response.json()) as { id?: string };
  return { status: response.status, cached: response.headers.get('idempotency-cached'), location: response.headers.get('location'), id: payload.id };
}
