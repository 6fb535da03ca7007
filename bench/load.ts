/**
 * The load generator, its own process so that the client's work is not done on the measured event
 * loop: `node --import tsx bench/load.ts '<LoadOptions as JSON>'`. It prints `ready`, waits for `go`
 * on stdin (the bench takes its "before" snapshots in between), and prints its result as one JSON
 * line. It sends raw requests rather than the client package's, whose per-request work would be
 * measured as the service's latency and cap the load.
 *
 * Modes, all POST `path` with the same body:
 *   unique      every request a new Idempotency-Key, `<prefix>-0`, `<prefix>-1`, … (for `seconds`, or `amount` requests)
 *   cycle       keys <prefix>-0 … <prefix>-(keyCount-1) over and over (replay)
 *   mixed       a new key, or with probability duplicateShare a key first sent 100–1100 new keys ago
 *               (so almost always finished: a replay, rarely a 409)
 *   contention  `requests` requests at once with ONE key over pre-opened keep-alive sockets
 */
import autocannon from 'autocannon';
import { Agent, request as httpRequest } from 'node:http';
import { once } from 'node:events';
import { percentile, round } from '../scripts/lib/stats.js';

export interface LoadOptions {
  mode: 'unique' | 'cycle' | 'mixed' | 'contention';
  label: string;
  baseUrl: string;
  path: string;
  apiKey: string;
  body: string;
  keyPrefix: string;
  connections: number;
  /** Run this long, or send `amount` requests. */
  seconds?: number;
  amount?: number;
  /** cycle: size of the key set. */
  keyCount?: number;
  /** mixed: share of requests that repeat a recent key, and the seed of their choice. */
  duplicateShare?: number;
  seed?: number;
  /** contention: requests in the burst. */
  requests?: number;
}

/** mixed: a duplicate repeats a key first sent at least this many new keys ago (long finished) … */
const DUPLICATE_MIN_AGE = 100;
/** … and at most this many ago. */
const DUPLICATE_MAX_AGE = 1100;

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '') as LoadOptions;
  process.stdout.write('ready\n');
  await once(process.stdin, 'data');
  const result = options.mode === 'contention' ? await runContention(options) : await runAutocannon(options);
  // Exit once written: nothing (autocannon's sockets, the stdin pipe) may keep the process alive.
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

/** Per request: the Idempotency-Key to send, per the mode. */
function keySource({ mode, keyPrefix: prefix, keyCount = 1000, seed = 1, duplicateShare = 0.1 }: LoadOptions): () => string {
  let sent = 0;
  if (mode === 'cycle') return () => `${prefix}-${sent++ % keyCount}`;
  if (mode !== 'mixed') return () => `${prefix}-${sent++}`;
  const random = parkMiller(seed);
  return () => {
    // Duplicates start once there are keys old enough; their age is uniform in [MIN_AGE, min(MAX_AGE, new keys sent)).
    if (sent >= 2 * DUPLICATE_MIN_AGE && random() < duplicateShare) {
      const age = DUPLICATE_MIN_AGE + Math.floor(random() * (Math.min(DUPLICATE_MAX_AGE, sent) - DUPLICATE_MIN_AGE));
      return `${prefix}-${sent - age}`;
    }
    return `${prefix}-${sent++}`;
  };
}

export type AutocannonOutput = { result: autocannon.Result; perSecond: number[] };

async function runAutocannon(options: LoadOptions): Promise<AutocannonOutput> {
  const nextKey = keySource(options);
  const perSecond: number[] = [];
  const started = Date.now();
  const url = new URL(options.path, options.baseUrl).href;
  const total = options.amount === undefined ? `${options.seconds} s` : `${options.amount} requests`;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        method: 'POST',
        connections: options.connections,
        ...(options.amount === undefined ? { duration: options.seconds ?? 10 } : { amount: options.amount }),
        headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/json' },
        body: options.body,
        // Called for every request: each gets its own Idempotency-Key.
        requests: [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, 'idempotency-key': nextKey() } }) }],
      },
      (error, result) => (error ? reject(error) : resolve({ result, perSecond })),
    );
    // 'tick' (once a second) is emitted by autocannon but missing from its type definitions.
    (instance as unknown as NodeJS.EventEmitter).on('tick', ({ counter }: { counter: number }) => {
      const elapsed = Math.round((Date.now() - started) / 1000);
      // autocannon ticks once more as it stops, for the part-second after the last full one.
      if (counter === 0 && options.seconds !== undefined && elapsed >= options.seconds) return;
      perSecond.push(counter);
      process.stderr.write(`  [${options.label}] ${String(elapsed).padStart(3)} s of ${total}: ${counter} req/s\n`);
    });
  });
}

/**
 * One key, `requests` requests at once. Every socket is opened (and proven with GET /health)
 * before the burst, so the burst measures the service answering, not TCP handshakes.
 */
async function runContention(options: LoadOptions) {
  const total = options.requests ?? 1000;
  const agent = new Agent({ keepAlive: true, maxSockets: total, maxFreeSockets: total, keepAliveMsecs: 10_000 });
  const { hostname: host, port } = new URL(options.baseUrl);
  const send = (method: string, path: string, headers: Record<string, string> = {}, body = '') =>
    new Promise<{ status: number; cached: unknown; endedAt: number }>((resolve, reject) => {
      const request = httpRequest({ host, port, method, path, agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (response) => {
        response.resume().on('error', reject);
        response.on('end', () => resolve({ status: response.statusCode ?? 0, cached: response.headers['idempotency-cached'], endedAt: performance.now() }));
      });
      request.on('error', reject).setTimeout(30_000, () => request.destroy(new Error('timed out after 30 s')));
      request.end(body);
    });
  const progress = (message: string) => process.stderr.write(`  [${options.label}] ${message}\n`);

  progress(`opening ${total} keep-alive connections`);
  const notWarm = (await Promise.allSettled(Array.from({ length: total }, () => send('GET', '/health')))).filter((o) => o.status === 'rejected').length;
  if (notWarm > 0) progress(`${notWarm} connections could not be opened; they open during the burst`);
  const headers = { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/json', 'idempotency-key': options.keyPrefix };
  progress(`${total} requests with one key`);
  const firstAt = performance.now();
  const answers = await Promise.all(
    Array.from({ length: total }, () => {
      const startedAt = performance.now();
      return send('POST', options.path, headers, options.body).then(
        (answer) => ({ ...answer, latencyMs: answer.endedAt - startedAt }),
        () => ({ status: 'error', cached: undefined, endedAt: performance.now(), latencyMs: NaN }),
      );
    }),
  );
  agent.destroy();

  const statuses: Record<string, number> = {};
  for (const { status } of answers) statuses[status] = (statuses[status] ?? 0) + 1;
  const fresh = answers.find((answer) => answer.status === 201 && answer.cached === 'false');
  const conflicts = answers.filter((answer) => answer.status === 409);
  // The 409s answered while the one execution still ran (the floor server answers no 201: all of them).
  const whileRunning = conflicts.filter((answer) => !fresh || answer.endedAt <= fresh.endedAt);
  const summarize = (answers: Array<{ latencyMs: number }>) => {
    const latencies = answers.map((answer) => answer.latencyMs);
    return { count: latencies.length, p50: percentile(latencies, 50, 2), p99: percentile(latencies, 99, 2) };
  };
  const lastConflictAt = Math.max(...conflicts.map((answer) => answer.endedAt));
  const result = {
    requests: total,
    statuses,
    replays: answers.filter((answer) => answer.status === 201 && answer.cached === 'true').length,
    freshLatencyMs: fresh ? round(fresh.latencyMs) : null,
    conflicts: summarize(conflicts),
    conflictsWhileRunning: summarize(whileRunning),
    wallMs: round(Math.max(...answers.map((answer) => answer.endedAt)) - firstAt),
    /** 409s answered per second, first request to last 409: the pace of the conflict path. */
    conflictsPerSecond: conflicts.length === 0 ? null : Math.round((1000 * conflicts.length) / (lastConflictAt - firstAt)),
  };
  progress(`${JSON.stringify(statuses)}; 409 p50 ${result.conflicts.p50} ms, p99 ${result.conflicts.p99} ms; ${result.conflictsPerSecond} 409s/s`);
  return result;
}

export type ContentionResult = Awaited<ReturnType<typeof runContention>>;

/** The minimal standard generator (seed ≥ 1), so a mixed run repeats the same key sequence. */
function parkMiller(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 48_271) % 0x7fffffff) / 0x7fffffff;
}

// bench.ts imports only this file's types (erased), so this runs only in the load process.
main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
