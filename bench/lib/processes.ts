/** The processes of a bench run (build, Redis stores, services, floor server, load) and the requests every scenario sends. */
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import type autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { freePort, ManagedProcess, RedisServer, stopAll } from '../../tools/process/index.js';
import type { ContentionResult, LoadOptions } from '../load.js';
import { ROOT } from './paths.js';
import { ProbedService } from './probed-service.js';
import type { BenchOptions } from './types.js';

export const API_KEY = 'sk_bench_0123456789abcdef';
export const ADMIN_TOKEN = `bench_admin_${randomBytes(12).toString('hex')}`;
export const BODY = JSON.stringify({ amount: 1999, currency: 'EUR', customerId: 'cus_bench' });

/**
 * A redis-server of the bench's own, and the bench's client of it (INFO, FLUSHALL). The baseline
 * and the service each get one: both run the payment-events consumer in process, and on a shared
 * Redis the idle one would consume (do the work of) the events the measured one produces.
 */
export interface Store {
  name: string;
  server: RedisServer;
  client: Redis;
}

const stores = new Set<Store>();
/** Every service process started, for their logs when the bench fails. */
export const servicesStarted: ProbedService[] = [];

export async function startStore(name: string): Promise<Store> {
  const server = await RedisServer.start();
  const store: Store = { name, server, client: new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 }) };
  stores.add(store);
  await store.client.connect();
  log(`bench: redis-server for the ${name} on ${server.url}`);
  return store;
}

export async function stopEverything(): Promise<void> {
  for (const store of stores) store.client.disconnect();
  stores.clear();
  // The services with their shutdown hooks, redis-servers, the build, load processes, the floor server.
  await stopAll();
}

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

export async function build(): Promise<void> {
  log('bench: npm run build');
  const { code } = await ManagedProcess.spawn('npm', ['run', 'build'], { cwd: ROOT, env: process.env, stdout: 'stderr', stderr: 'stderr' }).exited;
  if (code !== 0) throw new Error(`npm run build failed (exit ${code})`);
}

function serviceEnv(redisUrl: string): Record<string, string> {
  return {
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

async function startService(name: string, redisUrl: string, nodeArgs: string[] = []): Promise<ProbedService> {
  log(`bench: starting ${name} (node ${[...nodeArgs, 'dist/main.js'].join(' ')})`);
  const service = await ProbedService.start({ name, env: serviceEnv(redisUrl), nodeArgs });
  servicesStarted.push(service);
  return service;
}

async function startBaseline(redisUrl: string, nodeArgs: string[] = []): Promise<ProbedService> {
  log(
    `bench: starting baseline (node ${[...nodeArgs, '--import', 'tsx', 'bench/baseline-main.ts'].join(' ')}: dist/ with the idempotency interceptor bypassed)`,
  );
  const service = await ProbedService.start({
    name: 'baseline',
    env: serviceEnv(redisUrl),
    entry: 'bench/baseline-main.ts',
    nodeArgs: [...nodeArgs, '--import', 'tsx'],
  });
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

/** The processes measured side by side, each on a Redis of its own: the baseline (no idempotency layer) and the service. */
export type Side = 'baseline' | 'service';

/** What scenarios run against: the options, each side's store and (during a round) process, the floor server. */
export interface Context {
  options: BenchOptions;
  stores: Record<Side, Store>;
  processes: Partial<Record<Side, ProbedService>>;
  /** bench/floor-server.mjs, when the contention scenario runs. */
  floor?: LoadTarget;
}

/** A new process of one side on its store; `nodeArgs` go before the entry (e.g. --cpu-prof). */
export function startSide(context: Context, side: Side, name: string, nodeArgs: string[] = []): Promise<ProbedService> {
  const { url } = context.stores[side].server;
  return side === 'baseline' ? startBaseline(url, nodeArgs) : startService(name, url, nodeArgs);
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
