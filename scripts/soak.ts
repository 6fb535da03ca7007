#!/usr/bin/env -S npx tsx
/**
 * Soak test for "never charged twice": a steady stream of charges, a share of them retries of
 * earlier keys, against a gateway that fails and declines at random, with one Redis crash in the
 * middle. Afterwards the gateway's ledger (what was really charged) is compared with every answer.
 *
 *   npm run build && npx tsx scripts/soak.ts --seconds 60
 *
 * It starts everything it needs and stops it again: its own redis-server (AOF on, so a crash
 * loses nothing), a database of its own on the machine's PostgreSQL ($POSTGRES_URL, else
 * postgres@127.0.0.1:5432; dropped at the end) and N processes of the built service
 * (`dist/main.js`) sharing both.
 *
 * Exit codes: 0 no violation, 1 a violation, 2 bad arguments or the setup failed.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { retentionFor } from '@idempotent-payments/nestjs-idempotency';
import { UsageError, formatCounts, readOptions, fraction, parseCli, positiveInt } from './lib/cli.js';
import { percentile } from '../tools/stats.js';
import { runPool, sendCharge } from './lib/charge-client.js';
import { answersOk, hasRedisServerBinary, RabbitMqVhost, RedisServer, ServiceProcess, TestDatabase, waitFor } from '../tools/process/index.js';

const USAGE = `Usage: npx tsx scripts/soak.ts [options]    (needs dist/: run \`npm run build\` first)

Needs redis-server installed and PostgreSQL running ($POSTGRES_URL, else postgres@127.0.0.1:5432,
a role that may create databases): the soak creates a database of its own there and drops it after.

  --seconds <n>          how long requests are sent (default 60)
  --rate <n>             requests per second (default 50)
  --instances <n>        service processes sharing the Redis and the database, requests round-robin (default 1)
  --failure-rate <x>     share of gateway calls failing with 502, 0..1 (default 0.2)
  --decline-rate <x>     share of gateway calls declined with 402, 0..1 (default 0.1)
  --duplicate-ratio <x>  share of requests that reuse an earlier key and its body, 0..1 (default 0.3)
  --max-in-flight <n>    requests in flight at most; a request due beyond it is skipped (default 200)
  --json                 also print the result as one line: RESULT {...}
  --help                 show this help

Redis is crashed (SIGKILL) at half time and restarted 1 s later on the same port and data.
Exit codes: 0 no violation, 1 a violation, 2 bad arguments or setup failure.`;

const ERROR_TTL_SECONDS = 2;
const LOCK_TTL_MS = 2000;
const SERVICE_ENV = {
  IDEMPOTENCY_ERROR_TTL_SECONDS: String(ERROR_TTL_SECONDS),
  IDEMPOTENCY_LOCK_TTL_MS: String(LOCK_TTL_MS),
  REDIS_COMMAND_TIMEOUT_MS: '500',
  GATEWAY_MIN_DELAY_MS: '5',
  GATEWAY_MAX_DELAY_MS: '40',
  LOG_LEVEL: 'error',
  // The real request path, Redis-backed rate limiter included, with a limit no soak reaches: the
  // default (3000 a minute) is exactly 60 s at 50 requests/s, and a 429 would count as a violation.
  RATE_LIMIT_MAX: '1000000000',
};
const REQUEST_TIMEOUT_MS = 5000;
const REDIS_DOWN_MS = 1000;
/** Retries at the end are few; a handful in parallel keeps that pass short without a burst. */
const FINAL_PASS_CONCURRENCY = 10;
/** What the service may answer a well-formed charge (503 only while Redis is away). */
const ALLOWED_STATUSES = new Set([201, 402, 409, 502, 503]);
const STATUS_NAMES: Record<string, string> = {
  '201': 'created',
  '402': 'card declined',
  '409': 'in progress',
  '502': 'gateway unavailable',
  '503': 'store unavailable',
  error: 'no answer',
};
/** Violations printed in full; a systematic bug would bury the summary otherwise (RESULT has all). */
const PRINTED_VIOLATIONS = 50;
const SERVICE_LOG_LINES = 30;

interface Options {
  seconds: number;
  rate: number;
  instances: number;
  failureRate: number;
  declineRate: number;
  duplicateRatio: number;
  maxInFlight: number;
  json: boolean;
}

/** One charge request and what came back; `status: 'error'` means no HTTP answer at all. */
interface Attempt {
  /** 1-based, in sending order, so a violation names the request. */
  id: number;
  key: string;
  instance: number;
  /** Milliseconds since the load started. */
  sentAtMs: number;
  /** Undefined when there was no answer: it may still have run on the server. */
  answeredAtMs?: number;
  status: number | 'error';
  /** The Idempotency-Cached header; null when the answer had none. */
  cached: boolean | null;
  /** The answer's body as sent, or for `status: 'error'` what went wrong. */
  body: string;
  chargeId?: string;
}

interface RedisRestart {
  crashedAtMs: number;
  restartedAtMs: number;
}

/** Idempotency-Key → charge ids the gateway made for it. */
type Ledger = Map<string, string[]>;

/** Everything the run started, so every exit path can stop it. */
interface Fleet {
  redis?: RedisServer;
  database?: TestDatabase;
  vhost?: RabbitMqVhost;
  services: ServiceProcess[];
}

/** What the sending parts of one run share. */
interface Run {
  services: ServiceProcess[];
  book: KeyBook;
  tally: Tally;
  /** performance.now() when the load started; the times in an Attempt count from it. */
  startedAt: number;
  /** Aborted by SIGINT or SIGTERM: stop sending, cancel the Redis restart, skip the verdict. */
  interrupted: AbortSignal;
}

// ---------------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------------

function parseOptions(argv: string[]): Options | 'help' {
  const values = parseCli(argv, {
    seconds: { type: 'string' },
    rate: { type: 'string' },
    instances: { type: 'string' },
    'failure-rate': { type: 'string' },
    'decline-rate': { type: 'string' },
    'duplicate-ratio': { type: 'string' },
    'max-in-flight': { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (values.help) return 'help';

  const options: Options = {
    seconds: positiveInt('--seconds', values.seconds, 60),
    rate: positiveInt('--rate', values.rate, 50),
    instances: positiveInt('--instances', values.instances, 1),
    failureRate: fraction('--failure-rate', values['failure-rate'], 0.2),
    declineRate: fraction('--decline-rate', values['decline-rate'], 0.1),
    duplicateRatio: fraction('--duplicate-ratio', values['duplicate-ratio'], 0.3),
    maxInFlight: positiveInt('--max-in-flight', values['max-in-flight'], 200),
    json: values.json ?? false,
  };
  // The service refuses such a behaviour with 400; say so before starting anything.
  if (options.failureRate + options.declineRate > 1) {
    throw new UsageError('--failure-rate plus --decline-rate must not exceed 1');
  }
  return options;
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

function requirePrerequisites(): void {
  if (!hasRedisServerBinary) throw new UsageError('redis-server is not installed; the soak starts (and crashes) its own.');
  if (!existsSync('dist/main.js')) throw new UsageError('dist/main.js is missing; run `npm run build` first.');
}

async function startFleet(fleet: Fleet, options: Options): Promise<void> {
  try {
    [fleet.redis, fleet.database, fleet.vhost] = await Promise.all([RedisServer.start({ appendOnly: true }), TestDatabase.create(), RabbitMqVhost.create()]);
    // The instances migrate it at start, together: its advisory lock has them apply each migration once.
    const env = { ...SERVICE_ENV, REDIS_URL: fleet.redis.url, DATABASE_URL: fleet.database.url, BROKER_URL: fleet.vhost.url };
    await Promise.all(
      Array.from({ length: options.instances }, async () => {
        // Recorded one by one, so instances that did start are stopped when another fails.
        fleet.services.push(await ServiceProcess.start(env));
      }),
    );
  } catch (error) {
    // The helpers' messages carry the cause (and the service's own output): enough for exit code 2.
    throw new UsageError(`could not start the processes: ${(error as Error).message}`);
  }
}

async function stopFleet(fleet: Fleet): Promise<void> {
  const { redis, database, vhost, services } = fleet;
  // Detached first, so a second call (an interrupt while the run ends) finds nothing left to stop.
  fleet.services = [];
  fleet.redis = undefined;
  fleet.database = undefined;
  fleet.vhost = undefined;
  // SIGTERM first; a graceful shutdown that keeps waiting (e.g. on busy keep-alive sockets) ends in SIGKILL.
  await Promise.all(services.map((service) => service.stop()));
  await Promise.all([redis?.stop(), database?.drop(), vhost?.delete()]);
}

async function setGatewayBehavior(baseUrl: string, options: Options): Promise<void> {
  const response = await fetch(`${baseUrl}/api/admin/payment-behavior`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ failureRate: options.failureRate, declineRate: options.declineRate }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  if (!response.ok) throw new UsageError(`PUT /api/admin/payment-behavior answered ${response.status}: ${await response.text()}`);
}

/**
 * The crash the service must survive: SIGKILL, a second without Redis, the same data back.
 * An interrupt ends either wait (undefined: no restart), so no Redis starts after the processes were stopped.
 */
async function restartRedisAt(redis: RedisServer, atMs: number, run: Run, onDown: (down: boolean) => void): Promise<RedisRestart | undefined> {
  const interruptible = { signal: run.interrupted };
  if (!(await sleep(atMs, true, interruptible).catch(() => false))) return undefined;
  const crashedAtMs = performance.now() - run.startedAt;
  onDown(true);
  await redis.crash();
  if (!(await sleep(REDIS_DOWN_MS, true, interruptible).catch(() => false))) return undefined;
  await redis.restart();
  onDown(false);
  return { crashedAtMs, restartedAtMs: performance.now() - run.startedAt };
}

/** The service reconnects by itself; the checks need it reading Redis again before they start. */
async function waitUntilReady(services: ServiceProcess[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const service of services) {
    await waitFor(`${service.baseUrl}/health/ready`, () => answersOk(`${service.baseUrl}/health/ready`, REQUEST_TIMEOUT_MS), {
      timeoutMs: Math.max(0, deadline - Date.now()),
      intervalMs: 100,
      process: service.process,
    }).catch((error: Error) => {
      throw new UsageError(error.message);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/** Every key ever sent with the body of its first use: a retry must send the very same request. */
class KeyBook {
  private readonly bodies = new Map<string, string>();
  private readonly keys: string[] = [];

  constructor(private readonly duplicateRatio: number) {}

  get size(): number {
    return this.keys.length;
  }

  bodyOf(key: string): string {
    return this.bodies.get(key)!;
  }

  next(): { key: string; body: string } {
    if (this.keys.length > 0 && Math.random() < this.duplicateRatio) {
      const key = this.keys[randomInt(this.keys.length)];
      return { key, body: this.bodyOf(key) };
    }
    const key = `soak-${randomUUID()}`;
    const body = JSON.stringify({ amount: randomInt(100, 100_000), currency: 'EUR', customerId: `cus_soak_${randomInt(1, 1000)}` });
    this.bodies.set(key, body);
    this.keys.push(key);
    return { key, body };
  }
}

/** Sends one charge; never throws, so one failed request cannot end the run. */
async function sendAttempt(baseUrl: string, request: Pick<Attempt, 'id' | 'key' | 'instance'> & { body: string }, startedAt: number): Promise<Attempt> {
  const sentAtMs = performance.now() - startedAt;
  const answer = await sendCharge(baseUrl, { key: request.key, body: request.body, timeoutMs: REQUEST_TIMEOUT_MS });
  return {
    ...request,
    sentAtMs,
    // The answer counts once its body is read: that is when a client could act on it.
    answeredAtMs: answer.latencyMs === undefined ? undefined : sentAtMs + answer.latencyMs,
    status: answer.status,
    cached: answer.cached,
    body: answer.text,
    chargeId: answer.chargeId,
  };
}

async function readLedger(baseUrl: string): Promise<Ledger> {
  const response = await fetch(`${baseUrl}/api/admin/provider/charges`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const text = await response.text();
  if (!response.ok) throw new UsageError(`the ledger answered ${response.status}: ${text.slice(0, 200)}`);
  const { charges } = JSON.parse(text) as { charges: Array<{ id: string; idempotencyKey: string }> };
  const ledger: Ledger = new Map();
  for (const charge of charges) ledger.set(charge.idempotencyKey, [...(ledger.get(charge.idempotencyKey) ?? []), charge.id]);
  return ledger;
}

// ---------------------------------------------------------------------------------------------
// Load
// ---------------------------------------------------------------------------------------------

/** Answers so far, by status class, for the progress line. */
class Tally {
  sent = 0;
  skipped = 0;
  inFlight = 0;
  readonly answered: Record<string, number> = {};

  record(attempt: Attempt): void {
    const bucket = attempt.status === 'error' ? 'error' : `${String(attempt.status)[0]}xx`;
    this.answered[bucket] = (this.answered[bucket] ?? 0) + 1;
  }
}

function startProgress(tally: Tally, options: Options, startedAt: number, redisState: () => string): () => void {
  const timer = setInterval(() => {
    const elapsed = Math.floor((performance.now() - startedAt) / 1000);
    const answered = ['2xx', '4xx', '5xx', 'error'].map((bucket) => `${bucket} ${tally.answered[bucket] ?? 0}`).join('  ');
    process.stderr.write(`[soak ${elapsed}s/${options.seconds}s] sent ${tally.sent}  ${answered}  in flight ${tally.inFlight}${redisState()}\n`);
  }, 1000);
  return () => clearInterval(timer);
}

/**
 * Open loop at a fixed rate: requests are due at `rate` per second whatever the answers take, as
 * real clients would send them. Due requests beyond --max-in-flight are skipped and counted, so a
 * stalled service shows up as skips instead of an unbounded pile of sockets.
 */
async function driveLoad(run: Run, options: Options): Promise<Attempt[]> {
  const { services, tally } = run;
  const total = options.seconds * options.rate;
  const attempts: Attempt[] = [];
  const inFlight = new Set<Promise<void>>();
  let due = 0;
  while (due < total && !run.interrupted.aborted) {
    const dueNow = Math.min(total, Math.floor(((performance.now() - run.startedAt) / 1000) * options.rate) + 1);
    for (; due < dueNow; due++) {
      if (inFlight.size >= options.maxInFlight) {
        tally.skipped++;
        continue;
      }
      const instance = tally.sent % services.length;
      const request = { id: ++tally.sent, instance, ...run.book.next() };
      const pending = sendAttempt(services[instance].baseUrl, request, run.startedAt).then((attempt) => {
        attempts.push(attempt);
        tally.record(attempt);
        inFlight.delete(pending);
        tally.inFlight = inFlight.size;
      });
      inFlight.add(pending);
      tally.inFlight = inFlight.size;
    }
    await sleep(5);
  }
  await Promise.all(inFlight);
  return attempts;
}

/** The last answer per key decides whether the key is still open (anything but 201 or 402). */
function keysLeftOpen(attempts: Attempt[]): string[] {
  const last = new Map<string, Attempt>();
  for (const attempt of attempts) {
    const previous = last.get(attempt.key);
    if (!previous || answeredAt(attempt) >= answeredAt(previous)) last.set(attempt.key, attempt);
  }
  return [...last.values()].filter((attempt) => attempt.status !== 201 && attempt.status !== 402).map((attempt) => attempt.key);
}

/** A request without answer sorts last: it may have been the last to run on the server. */
function answeredAt(attempt: Attempt): number {
  return attempt.answeredAtMs ?? Number.POSITIVE_INFINITY;
}

/** One more try per open key once the state has settled: it must find any charge made earlier. */
async function retryOpenKeys(run: Run, keys: string[]): Promise<Attempt[]> {
  const { services, tally } = run;
  const attempts = await runPool(keys.length, FINAL_PASS_CONCURRENCY, async (index) => {
    if (run.interrupted.aborted) return undefined;
    const instance = tally.sent % services.length;
    const request = { id: ++tally.sent, instance, key: keys[index], body: run.book.bodyOf(keys[index]) };
    return sendAttempt(services[instance].baseUrl, request, run.startedAt);
  });
  return attempts.filter((attempt) => attempt !== undefined);
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

function checkOneChargePerKey(ledger: Ledger, history: (key: string) => string): string[] {
  return [...ledger]
    .filter(([, ids]) => ids.length > 1)
    .map(([key, ids]) => `${ids.length} ledger charges for key ${key}: ${ids.join(', ')}; requests: ${history(key)}`);
}

function checkChargeIds(attempts: Attempt[], ledger: Ledger, history: (key: string) => string): string[] {
  const violations: string[] = [];
  for (const attempt of attempts.filter((candidate) => candidate.status === 201)) {
    const charged = ledger.get(attempt.key) ?? [];
    if (charged.length === 1 && attempt.chargeId === charged[0]) continue;
    // More than one ledger charge is reported once per key by checkOneChargePerKey.
    if (charged.length > 1) continue;
    const expected = charged.length === 0 ? 'the ledger has no charge for it' : `the ledger has ${charged[0]}`;
    violations.push(`${label(attempt)} answered 201 with charge ${attempt.chargeId ?? '(no id)'}, but ${expected}; requests: ${history(attempt.key)}`);
  }
  return violations;
}

/**
 * A replay must repeat the fresh answer whose outcome was stored. That answer is known only when
 * every request of the key that could have stored an outcome was answered before the replay was
 * sent: then it is the latest of them. Replays are not compared when one was still in flight (or
 * never answered), or when the latest was a 503 (its SET may have landed though its reply failed).
 */
function checkReplays(attempts: Attempt[]): { violations: string[]; compared: number } {
  const byKey = groupByKey(attempts);
  const violations: string[] = [];
  let compared = 0;
  for (const replay of attempts.filter((attempt) => attempt.cached === true)) {
    const others = byKey.get(replay.key)!.filter((attempt) => attempt !== replay && attempt.cached !== true && mayHaveStored(attempt));
    const sentBefore = others.filter((attempt) => attempt.sentAtMs < replay.sentAtMs);
    if (sentBefore.some((attempt) => answeredAt(attempt) > replay.sentAtMs)) continue;
    const fresh = sentBefore.filter((attempt) => attempt.cached === false).sort((a, b) => answeredAt(b) - answeredAt(a))[0];
    if (!fresh || fresh.status === 503) continue;
    compared++;
    if (fresh.status !== replay.status || fresh.body !== replay.body) {
      violations.push(
        `${label(replay)} replayed ${replay.status} ${snippet(replay.body)}, but the fresh answer (${label(fresh)}, ` +
          `answered at ${seconds(fresh.answeredAtMs)}) was ${fresh.status} ${snippet(fresh.body)}`,
      );
    }
  }
  return { violations, compared };
}

/**
 * Whether the request could have stored an outcome. Unknown without an answer; never when the answer
 * lacks Idempotency-Cached (refused before the idempotency layer, e.g. by the rate limiter); a 503
 * may have (its SET can land while the reply is lost); otherwise as the retention policy says.
 */
function mayHaveStored(attempt: Attempt): boolean {
  if (attempt.status === 'error') return true;
  if (attempt.cached === null) return false;
  return attempt.status === 503 || retentionFor(attempt.status) !== 'none';
}

function checkStatuses(attempts: Attempt[]): string[] {
  return attempts
    .filter((attempt) => attempt.status === 'error' || !ALLOWED_STATUSES.has(attempt.status))
    .map((attempt) =>
      attempt.status === 'error'
        ? `${label(attempt)} got no answer: ${attempt.body}`
        : `${label(attempt)} answered ${attempt.status}: ${snippet(attempt.body)}`,
    );
}

/** A charge the gateway made while answers were lost must come back on the next retry, and only it. */
function checkFinalRetries(retries: Attempt[], ledgerBefore: Ledger, history: (key: string) => string): string[] {
  const violations: string[] = [];
  for (const retry of retries) {
    const charged = ledgerBefore.get(retry.key) ?? [];
    if (charged.length !== 1) continue;
    if (retry.status === 201 && retry.chargeId === charged[0]) continue;
    violations.push(
      `final retry of key ${retry.key} answered ${retry.status} ${snippet(retry.body)}, but the ledger already held ` +
        `${charged[0]} for it; requests: ${history(retry.key)}`,
    );
  }
  return violations;
}

function groupByKey(attempts: Attempt[]): Map<string, Attempt[]> {
  const byKey = new Map<string, Attempt[]>();
  for (const attempt of attempts) byKey.set(attempt.key, [...(byKey.get(attempt.key) ?? []), attempt]);
  return byKey;
}

/** The requests of one key in sending order, compact enough for one violation line. */
function historyOf(attempts: Attempt[]): (key: string) => string {
  const byKey = groupByKey(attempts);
  return (key) =>
    (byKey.get(key) ?? [])
      .sort((a, b) => a.id - b.id)
      .map((attempt) => {
        const kind = attempt.cached === true ? ' replay' : attempt.cached === false ? ' fresh' : '';
        return `#${attempt.id} sent ${seconds(attempt.sentAtMs)} → ${attempt.status}${kind}${attempt.chargeId ? ` ${attempt.chargeId}` : ''} at ${seconds(attempt.answeredAtMs)}`;
      })
      .join(', ');
}

function label(attempt: Attempt): string {
  return `request #${attempt.id} (key ${attempt.key}, instance ${attempt.instance}, sent ${seconds(attempt.sentAtMs)})`;
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? 'never' : `${(ms / 1000).toFixed(3)}s`;
}

function snippet(text: string): string {
  return text.length > 160 ? `${text.slice(0, 160)}…` : text;
}

// ---------------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------------

/** By the Idempotency-Cached header: false, true, or absent (refused before the idempotency layer, or no answer). */
interface StatusCounts {
  fresh: number;
  replay: number;
  noHeader: number;
  total: number;
}

interface Summary {
  counts: {
    sent: number;
    skipped: number;
    fresh: number;
    replays: number;
    /** Replays (final retries included) whose fresh answer was certain, so they were compared with it. */
    replaysCompared: number;
    byStatus: Record<string, StatusCounts>;
  };
  finalRetries: Record<string, number>;
  keys: number;
  ledgerCharges: number;
  latencyMs: { p50: number | null; p99: number | null };
}

function summarize(load: Attempt[], retries: Attempt[], run: Run, ledger: Ledger, replaysCompared: number): Summary {
  const byStatus: Record<string, StatusCounts> = {};
  for (const attempt of load) {
    const counts = (byStatus[String(attempt.status)] ??= { fresh: 0, replay: 0, noHeader: 0, total: 0 });
    counts.total++;
    if (attempt.cached === true) counts.replay++;
    else if (attempt.cached === false) counts.fresh++;
    else counts.noHeader++;
  }
  const finalRetries: Record<string, number> = {};
  for (const retry of retries) finalRetries[String(retry.status)] = (finalRetries[String(retry.status)] ?? 0) + 1;
  const latencies = load.flatMap((attempt) => (attempt.answeredAtMs === undefined ? [] : [attempt.answeredAtMs - attempt.sentAtMs]));
  return {
    counts: {
      sent: load.length,
      skipped: run.tally.skipped,
      fresh: load.filter((attempt) => attempt.cached === false).length,
      replays: load.filter((attempt) => attempt.cached === true).length,
      replaysCompared,
      byStatus,
    },
    finalRetries,
    keys: run.book.size,
    ledgerCharges: [...ledger.values()].reduce((sum, ids) => sum + ids.length, 0),
    latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) },
  };
}

function printSummary(options: Options, summary: Summary, restart: RedisRestart, violations: string[]): void {
  const { counts } = summary;
  console.log('');
  console.log(
    `Soak:   ${options.seconds} s at ${options.rate} requests/s over ${options.instances} instance(s); gateway failure ${options.failureRate}, ` +
      `decline ${options.declineRate}; duplicate keys ${options.duplicateRatio}`,
  );
  console.log(`Redis:  crashed at ${seconds(restart.crashedAtMs)}, back at ${seconds(restart.restartedAtMs)} (AOF)`);
  console.log('');
  const rows: string[][] = [['status', 'fresh', 'replay', 'no header', 'total']];
  for (const [status, row] of Object.entries(counts.byStatus).sort(([a], [b]) => a.localeCompare(b))) {
    rows.push([`${status} ${STATUS_NAMES[status] ?? ''}`.trim(), String(row.fresh), String(row.replay), String(row.noHeader), String(row.total)]);
  }
  const noHeader = counts.sent - counts.fresh - counts.replays;
  rows.push(['all', String(counts.fresh), String(counts.replays), String(noHeader), String(counts.sent)]);
  for (const line of alignColumns(rows)) console.log(line);
  console.log('');
  const retried = Object.values(summary.finalRetries).reduce((sum, count) => sum + count, 0);
  const ms = (value: number | null) => (value === null ? '-' : value.toFixed(1));
  const facts = [
    ['requests sent', String(counts.sent), counts.skipped > 0 ? `(${counts.skipped} skipped at the in-flight limit)` : ''],
    ['idempotency keys', String(summary.keys), ''],
    ['ledger charges', String(summary.ledgerCharges), ''],
    ['replays compared with their fresh answer', String(counts.replaysCompared), ''],
    ['open keys retried at the end', String(retried), retried > 0 ? `(${formatCounts(summary.finalRetries)})` : ''],
    ['latency p50 / p99 (ms)', `${ms(summary.latencyMs.p50)} / ${ms(summary.latencyMs.p99)}`, ''],
    ['violations', String(violations.length), ''],
  ];
  // The notes stay out of the alignment: they are free text after the numbers.
  alignColumns(facts.map(([label, value]) => [label, value])).forEach((line, index) => console.log(`${line}   ${facts[index][2]}`.trimEnd()));
  console.log('');
  if (violations.length === 0) {
    console.log(`Verdict: PASS - ${summary.ledgerCharges} charges, at most one per key, every answer agrees with the ledger`);
    return;
  }
  console.log(`Verdict: FAIL - ${violations.length} violation(s)`);
  for (const violation of violations.slice(0, PRINTED_VIOLATIONS)) console.log(`  - ${violation}`);
  if (violations.length > PRINTED_VIOLATIONS) {
    console.log(`  … and ${violations.length - PRINTED_VIOLATIONS} more${options.json ? ' (all of them in RESULT)' : ' (--json lists all)'}`);
  }
}

/** Rows as indented lines: the first column left-aligned (labels), the others right-aligned (numbers). */
function alignColumns(rows: string[][]): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) => `  ${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[0]) : cell.padStart(widths[column]))).join('   ')}`);
}

/** What the services logged (errors only): the stack of a 500 is there, not in its problem body. */
function printServiceLogs(services: ServiceProcess[]): void {
  services.forEach((service, instance) => {
    const lines = service.logs
      .split('\n')
      .filter((line) => line.trim() !== '')
      .slice(-SERVICE_LOG_LINES);
    const shown = lines.length === 0 ? '(nothing logged)' : lines.join('\n');
    process.stderr.write(`\n--- instance ${instance} (${service.baseUrl}), last ${lines.length} log line(s):\n${shown}\n`);
  });
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

async function soak(fleet: Fleet, options: Options, interrupted: AbortSignal): Promise<number> {
  requirePrerequisites();
  process.stderr.write(`starting redis-server (AOF), a database and ${options.instances} service instance(s)…\n`);
  await startFleet(fleet, options);
  interrupted.throwIfAborted();
  const { redis, services } = fleet as Required<Fleet>;
  await setGatewayBehavior(services[0].baseUrl, options);

  const run: Run = { services, book: new KeyBook(options.duplicateRatio), tally: new Tally(), startedAt: performance.now(), interrupted };
  // Shown while Redis is down, so the 503s in the progress lines have their cause next to them.
  let redisState = '';
  const restart = restartRedisAt(redis, (options.seconds * 1000) / 2, run, (down) => (redisState = down ? '  (redis down)' : ''));
  const stopProgress = startProgress(run.tally, options, run.startedAt, () => redisState);
  const load = await driveLoad(run, options).finally(stopProgress);
  const redisRestart = await restart;
  // Only an interrupt leaves the restart undone.
  if (!redisRestart) throw interrupted.reason;

  process.stderr.write(`load done; waiting for the service to be ready and for error outcomes and locks to expire…\n`);
  await waitUntilReady(services, 15_000);
  await sleep(Math.max(ERROR_TTL_SECONDS * 1000, LOCK_TTL_MS) + 500, undefined, { signal: interrupted });
  const ledgerBefore = await readLedger(services[0].baseUrl);
  const openKeys = keysLeftOpen(load);
  process.stderr.write(`retrying ${openKeys.length} open key(s) once…\n`);
  const retries = await retryOpenKeys(run, openKeys);
  interrupted.throwIfAborted();
  const ledger = await readLedger(services[0].baseUrl);

  // In sending order, so violations read as a timeline (answers arrive out of order).
  const all = [...load, ...retries].sort((a, b) => a.id - b.id);
  const history = historyOf(all);
  const replays = checkReplays(all);
  const violations = [
    ...checkOneChargePerKey(ledger, history),
    ...checkChargeIds(all, ledger, history),
    ...replays.violations,
    ...checkStatuses(all),
    ...checkFinalRetries(retries, ledgerBefore, history),
  ];
  const summary = summarize(load, retries, run, ledger, replays.compared);
  printSummary(options, summary, redisRestart, violations);
  if (violations.length > 0) printServiceLogs(services);
  if (options.json) {
    const { counts, ...rest } = summary;
    console.log(`RESULT ${JSON.stringify({ ok: violations.length === 0, violations, counts, ...rest, redisRestarts: 1, redisRestart })}`);
  }
  return violations.length === 0 ? 0 : 1;
}

async function main(): Promise<number> {
  const options = readOptions(parseOptions, USAGE);
  if (typeof options === 'number') return options;

  // ServiceProcess starts `dist/main.js` relative to the working directory: make it the repository.
  process.chdir(fileURLToPath(new URL('..', import.meta.url)));
  const fleet: Fleet = { services: [] };
  const interruption = new AbortController();
  const interrupt = (signal: NodeJS.Signals) => {
    // A second signal means "now": exit at once, the process helpers SIGKILL what is left on exit.
    if (interruption.signal.aborted) process.exit(130);
    process.stderr.write(`\n${signal}: stopping the processes started by the soak (again to force)…\n`);
    interruption.abort(signal);
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  try {
    return await soak(fleet, options, interruption.signal);
  } catch (error) {
    if (interruption.signal.aborted) {
      console.error(`interrupted by ${interruption.signal.reason}: no verdict`);
      return 130;
    }
    if (!(error instanceof UsageError)) throw error;
    console.error(`error: ${error.message}`);
    return 2;
  } finally {
    await stopFleet(fleet);
  }
}

main().then(
  (code) => {
    // exitCode instead of process.exit() lets stdout flush when it is piped.
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error('unexpected failure:', error);
    process.exitCode = 2;
  },
);
