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
import { createPaymentsApi, PaymentsClient, type ChargeRequest, type PaymentsApi } from '@idempotent-payments/client';
import { retentionFor } from '@idempotent-payments/nestjs-idempotency';
import { answersOk, hasRedisServerBinary, RabbitMqVhost, RedisServer, ServiceProcess, TestDatabase, waitFor } from '../test/harness/index.js';
import { UsageError, formatCounts, fraction, parseCli, positiveInt, runMain, valueOptions } from './lib/cli.js';
import { recordingFetch, runPool, sendCharge, type Answer } from './lib/recorded-charges.js';
import { countBy, latencyOf, ms, printTable, printVerdict } from './lib/report.js';

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
const SERVICE_LOG_LINES = 30;

type Options = Exclude<ReturnType<typeof parseOptions>, 'help'>;
/** Idempotency-Key → charge ids the gateway made for it. */
type Ledger = Map<string, string[]>;
type RedisRestart = Exclude<Awaited<ReturnType<typeof restartRedisAt>>, undefined>;

/** Everything the run started, so every exit path can stop it. */
interface Fleet {
  redis?: RedisServer;
  database?: TestDatabase;
  vhost?: RabbitMqVhost;
  services: ServiceProcess[];
}

/** What the sending parts of one run share. */
interface Run {
  /** Charges round-robin over the instances, one attempt each: the soak decides about retries itself. */
  client: PaymentsClient;
  book: KeyBook;
  /** Every answer so far, as the client's recording fetch saw it. */
  answers: Answer[];
  /** performance.now() when the load started; the times in an Answer count from it. */
  startedAt: number;
  /** Aborted by SIGINT or SIGTERM: stop sending, cancel the Redis restart, skip the verdict. */
  interrupted: AbortSignal;
}

function parseOptions(argv: string[]) {
  const values = parseCli(argv, {
    ...valueOptions('seconds', 'rate', 'instances', 'failure-rate', 'decline-rate', 'duplicate-ratio', 'max-in-flight'),
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (values.help) return 'help';
  const options = {
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
  if (options.failureRate + options.declineRate > 1) throw new UsageError('--failure-rate plus --decline-rate must not exceed 1');
  return options;
}

async function startFleet(fleet: Fleet, options: Options): Promise<Required<Fleet>> {
  if (!hasRedisServerBinary) throw new UsageError('redis-server is not installed; the soak starts (and crashes) its own.');
  if (!existsSync('dist/main.js')) throw new UsageError('dist/main.js is missing; run `npm run build` first.');
  process.stderr.write(`starting redis-server (AOF), a database and ${options.instances} service instance(s)…\n`);
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
  return fleet as Required<Fleet>;
}

async function stopFleet(fleet: Fleet): Promise<void> {
  const { redis, database, vhost, services } = fleet;
  // Detached first, so a second call (an interrupt while the run ends) finds nothing left to stop.
  Object.assign(fleet, { redis: undefined, database: undefined, vhost: undefined, services: [] });
  // SIGTERM first; a graceful shutdown that keeps waiting (e.g. on busy keep-alive sockets) ends in SIGKILL.
  await Promise.all(services.map((service) => service.stop()));
  await Promise.all([redis?.stop(), database?.drop(), vhost?.delete()]);
}

/**
 * The crash the service must survive: SIGKILL, a second without Redis, the same data back.
 * An interrupt ends either wait (undefined: no restart), so no Redis starts after the processes were stopped.
 */
async function restartRedisAt(redis: RedisServer, atMs: number, run: Run, onDown: (down: boolean) => void) {
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
  const ready = ({ baseUrl, process }: ServiceProcess) =>
    waitFor(`${baseUrl}/health/ready`, () => answersOk(`${baseUrl}/health/ready`, REQUEST_TIMEOUT_MS), { timeoutMs, intervalMs: 100, process });
  await Promise.all(services.map(ready)).catch((error: Error) => {
    throw new UsageError(error.message);
  });
}

/** Every key ever sent with the body of its first use: a retry must send the very same request. */
class KeyBook {
  readonly bodies = new Map<string, ChargeRequest>();
  private readonly keys: string[] = [];
  constructor(private readonly duplicateRatio: number) {}

  next(): string {
    if (this.keys.length > 0 && Math.random() < this.duplicateRatio) return this.keys[randomInt(this.keys.length)];
    const key = `soak-${randomUUID()}`;
    this.bodies.set(key, { amount: randomInt(100, 100_000), currency: 'EUR', customerId: `cus_soak_${randomInt(1, 1000)}` });
    this.keys.push(key);
    return key;
  }
}

async function readLedger(admin: PaymentsApi): Promise<Ledger> {
  const { data, error, response } = await admin.GET('/api/admin/provider/charges', { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  if (!data) throw new UsageError(`the ledger answered ${response.status}: ${JSON.stringify(error).slice(0, 200)}`);
  const ledger: Ledger = new Map();
  for (const charge of data.charges) ledger.set(charge.idempotencyKey, [...(ledger.get(charge.idempotencyKey) ?? []), charge.id]);
  return ledger;
}

/**
 * Open loop at a fixed rate: requests are due at `rate` per second whatever the answers take, as
 * real clients would send them. Due requests beyond --max-in-flight are skipped and counted, so a
 * stalled service shows up as skips instead of an unbounded pile of sockets. Returns the skips.
 */
async function driveLoad(run: Run, options: Options, redisState: () => string): Promise<number> {
  const total = options.seconds * options.rate;
  const inFlight = new Set<Promise<void>>();
  let [due, sent, skipped] = [0, 0, 0];
  const progress = setInterval(() => {
    const elapsed = Math.floor((performance.now() - run.startedAt) / 1000);
    const buckets = countBy(run.answers, (answer) => (answer.status === 'error' ? 'error' : `${String(answer.status)[0]}xx`));
    const answered = ['2xx', '4xx', '5xx', 'error'].map((bucket) => `${bucket} ${buckets[bucket] ?? 0}`).join('  ');
    process.stderr.write(`[soak ${elapsed}s/${options.seconds}s] sent ${sent}  ${answered}  in flight ${inFlight.size}${redisState()}\n`);
  }, 1000);
  while (due < total && !run.interrupted.aborted) {
    const dueNow = Math.min(total, Math.floor(((performance.now() - run.startedAt) / 1000) * options.rate) + 1);
    for (; due < dueNow; due++) {
      if (inFlight.size >= options.maxInFlight) {
        skipped++;
        continue;
      }
      sent++;
      const key = run.book.next();
      const pending = sendCharge(run.client, run.book.bodies.get(key)!, key).finally(() => inFlight.delete(pending));
      inFlight.add(pending);
    }
    await sleep(5);
  }
  await Promise.all(inFlight).finally(() => clearInterval(progress));
  return skipped;
}

/** The last answer per key decides whether the key is still open (anything but 201 or 402). */
function keysLeftOpen(answers: Answer[]): string[] {
  const last = new Map<string, Answer>();
  for (const answer of answers) {
    const previous = last.get(answer.key);
    if (!previous || answeredAt(answer) >= answeredAt(previous)) last.set(answer.key, answer);
  }
  return [...last.values()].filter((answer) => answer.status !== 201 && answer.status !== 402).map((answer) => answer.key);
}

/** A request without answer sorts last: it may have been the last to run on the server. */
function answeredAt(answer: Answer): number {
  return answer.answeredAtMs ?? Number.POSITIVE_INFINITY;
}

function checkOneChargePerKey(ledger: Ledger, history: (key: string) => string): string[] {
  return [...ledger]
    .filter(([, ids]) => ids.length > 1)
    .map(([key, ids]) => `${ids.length} ledger charges for key ${key}: ${ids.join(', ')}; requests: ${history(key)}`);
}

function checkChargeIds(answers: Answer[], ledger: Ledger, history: (key: string) => string): string[] {
  const violations: string[] = [];
  for (const answer of answers.filter((candidate) => candidate.status === 201)) {
    const charged = ledger.get(answer.key) ?? [];
    // More than one ledger charge is reported once per key by checkOneChargePerKey.
    if ((charged.length === 1 && answer.chargeId === charged[0]) || charged.length > 1) continue;
    const expected = charged.length === 0 ? 'the ledger has no charge for it' : `the ledger has ${charged[0]}`;
    violations.push(`${label(answer)} answered 201 with charge ${answer.chargeId ?? '(no id)'}, but ${expected}; requests: ${history(answer.key)}`);
  }
  return violations;
}

/**
 * A replay must repeat the fresh answer whose outcome was stored. That answer is known only when
 * every request of the key that could have stored an outcome was answered before the replay was
 * sent: then it is the latest of them. Replays are not compared when one was still in flight (or
 * never answered), or when the latest was a 503 (its SET may have landed though its reply failed).
 */
function checkReplays(answers: Answer[]): { violations: string[]; compared: number } {
  const byKey = groupByKey(answers);
  const violations: string[] = [];
  let compared = 0;
  for (const replay of answers.filter((answer) => answer.cached === true)) {
    const sentBefore = byKey.get(replay.key)!.filter((other) => other.cached !== true && mayHaveStored(other) && other.sentAtMs < replay.sentAtMs);
    if (sentBefore.some((other) => answeredAt(other) > replay.sentAtMs)) continue;
    const fresh = sentBefore.filter((other) => other.cached === false).sort((a, b) => answeredAt(b) - answeredAt(a))[0];
    if (!fresh || fresh.status === 503) continue;
    compared++;
    if (fresh.status !== replay.status || fresh.text !== replay.text) {
      violations.push(
        `${label(replay)} replayed ${replay.status} ${snippet(replay.text)}, but the fresh answer (${label(fresh)}, ` +
          `answered at ${seconds(fresh.answeredAtMs)}) was ${fresh.status} ${snippet(fresh.text)}`,
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
function mayHaveStored(answer: Answer): boolean {
  if (answer.status === 'error') return true;
  if (answer.cached === null) return false;
  return answer.status === 503 || retentionFor(answer.status) !== 'none';
}

function checkStatuses(answers: Answer[]): string[] {
  return answers
    .filter((answer) => answer.status === 'error' || !ALLOWED_STATUSES.has(answer.status))
    .map((answer) => `${label(answer)} ${answer.status === 'error' ? 'got no answer:' : `answered ${answer.status}:`} ${snippet(answer.text)}`);
}

/** A charge the gateway made while answers were lost must come back on the next retry, and only it. */
function checkFinalRetries(retries: Answer[], ledgerBefore: Ledger, history: (key: string) => string): string[] {
  return retries
    .filter((retry) => ledgerBefore.get(retry.key)?.length === 1 && !(retry.status === 201 && retry.chargeId === ledgerBefore.get(retry.key)![0]))
    .map(
      (retry) =>
        `final retry of key ${retry.key} answered ${retry.status} ${snippet(retry.text)}, but the ledger already held ` +
        `${ledgerBefore.get(retry.key)![0]} for it; requests: ${history(retry.key)}`,
    );
}

/** The requests of one key in sending order, compact enough for one violation line. */
function historyOf(answers: Answer[]): (key: string) => string {
  const byKey = groupByKey(answers);
  return (key) =>
    (byKey.get(key) ?? [])
      .map((answer) => {
        const kind = answer.cached === true ? ' replay' : answer.cached === false ? ' fresh' : '';
        return `#${answer.id} sent ${seconds(answer.sentAtMs)} → ${answer.status}${kind}${answer.chargeId ? ` ${answer.chargeId}` : ''} at ${seconds(answer.answeredAtMs)}`;
      })
      .join(', ');
}

function groupByKey(answers: Answer[]): Map<string, Answer[]> {
  const byKey = new Map<string, Answer[]>();
  for (const answer of answers) byKey.set(answer.key, [...(byKey.get(answer.key) ?? []), answer]);
  return byKey;
}

function label(answer: Answer): string {
  return `request #${answer.id} (key ${answer.key}, instance ${answer.instance}, sent ${seconds(answer.sentAtMs)})`;
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? 'never' : `${(ms / 1000).toFixed(3)}s`;
}

function snippet(text: string): string {
  return text.length > 160 ? `${text.slice(0, 160)}…` : text;
}

/** By the Idempotency-Cached header: false, true, or absent (refused before the idempotency layer, or no answer). */
function countByStatus(answers: Answer[]): Record<string, { fresh: number; replay: number; noHeader: number; total: number }> {
  const byStatus: ReturnType<typeof countByStatus> = {};
  for (const answer of answers) {
    const counts = (byStatus[String(answer.status)] ??= { fresh: 0, replay: 0, noHeader: 0, total: 0 });
    counts.total++;
    counts[answer.cached === true ? 'replay' : answer.cached === false ? 'fresh' : 'noHeader']++;
  }
  return byStatus;
}

function printSummary(options: Options, result: ReturnType<typeof resultOf>): void {
  const { counts, redisRestart } = result;
  console.log(
    `\nSoak:   ${options.seconds} s at ${options.rate} requests/s over ${options.instances} instance(s); gateway failure ${options.failureRate}, ` +
      `decline ${options.declineRate}; duplicate keys ${options.duplicateRatio}`,
  );
  console.log(`Redis:  crashed at ${seconds(redisRestart.crashedAtMs)}, back at ${seconds(redisRestart.restartedAtMs)} (AOF)\n`);
  const byStatus = Object.entries(counts.byStatus).sort(([a], [b]) => a.localeCompare(b));
  const all = { fresh: counts.fresh, replay: counts.replays, noHeader: counts.sent - counts.fresh - counts.replays, total: counts.sent };
  printTable([
    ['status', 'fresh', 'replay', 'no header', 'total'],
    ...[...byStatus, ['all', all] as const].map(([status, row]) => [
      `${status} ${STATUS_NAMES[status] ?? ''}`.trim(),
      ...[row.fresh, row.replay, row.noHeader, row.total].map(String),
    ]),
  ]);
  const retried = Object.values(result.finalRetries).reduce((sum, count) => sum + count, 0);
  console.log('');
  printTable([
    [`requests sent${counts.skipped > 0 ? ` (${counts.skipped} more skipped at the in-flight limit)` : ''}`, String(counts.sent)],
    ['idempotency keys', String(result.keys)],
    ['ledger charges', String(result.ledgerCharges)],
    ['replays compared with their fresh answer', String(counts.replaysCompared)],
    [`open keys retried at the end${retried > 0 ? ` (${formatCounts(result.finalRetries)})` : ''}`, String(retried)],
    ['latency p50 / p99 (ms)', `${ms(result.latencyMs.p50)} / ${ms(result.latencyMs.p99)}`],
    ['violations', String(result.violations.length)],
  ]);
}

function resultOf(load: Answer[], retries: Answer[], skipped: number, ledger: Ledger, violations: string[], compared: number, restart: RedisRestart) {
  return {
    violations,
    counts: {
      sent: load.length,
      skipped,
      fresh: load.filter((answer) => answer.cached === false).length,
      replays: load.filter((answer) => answer.cached === true).length,
      /** Replays (final retries included) whose fresh answer was certain, so they were compared with it. */
      replaysCompared: compared,
      byStatus: countByStatus(load),
    },
    finalRetries: countBy(retries, (retry) => String(retry.status)),
    keys: new Set(load.map((answer) => answer.key)).size,
    ledgerCharges: [...ledger.values()].reduce((sum, ids) => sum + ids.length, 0),
    latencyMs: latencyOf(load),
    redisRestarts: 1,
    redisRestart: restart,
  };
}

/** What the services logged (errors only): the stack of a 500 is there, not in its problem body. */
function printServiceLogs(services: ServiceProcess[]): void {
  services.forEach((service, instance) => {
    const lines = service.logs
      .split('\n')
      .filter((line) => line.trim() !== '')
      .slice(-SERVICE_LOG_LINES);
    process.stderr.write(`\n--- instance ${instance} (${service.baseUrl}), last ${lines.length} log line(s):\n${lines.join('\n') || '(nothing logged)'}\n`);
  });
}

async function soak(fleet: Fleet, options: Options, interrupted: AbortSignal): Promise<number> {
  const { redis, services } = await startFleet(fleet, options);
  interrupted.throwIfAborted();
  const admin = createPaymentsApi(services[0].baseUrl);
  const behavior = await admin.PUT('/api/admin/payment-behavior', {
    body: { failureRate: options.failureRate, declineRate: options.declineRate },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  if (behavior.error) throw new UsageError(`PUT /api/admin/payment-behavior answered ${behavior.response.status}: ${JSON.stringify(behavior.error)}`);

  const urls = services.map((service) => service.baseUrl);
  const startedAt = performance.now();
  const answers: Answer[] = [];
  const client = new PaymentsClient({
    baseUrl: services[0].baseUrl,
    fetch: recordingFetch(urls, (answer) => answers.push(answer), startedAt),
    maxAttempts: 1,
    attemptTimeoutMs: REQUEST_TIMEOUT_MS,
  });
  const run: Run = { client, book: new KeyBook(options.duplicateRatio), answers, startedAt, interrupted };
  // Shown while Redis is down, so the 503s in the progress lines have their cause next to them.
  let redisState = '';
  const restart = restartRedisAt(redis, (options.seconds * 1000) / 2, run, (down) => (redisState = down ? '  (redis down)' : ''));
  const skipped = await driveLoad(run, options, () => redisState);
  const redisRestart = await restart;
  // Only an interrupt leaves the restart undone.
  if (!redisRestart) throw interrupted.reason;
  const load = answers.splice(0);

  process.stderr.write(`load done; waiting for the service to be ready and for error outcomes and locks to expire…\n`);
  await waitUntilReady(services, 15_000);
  await sleep(Math.max(ERROR_TTL_SECONDS * 1000, LOCK_TTL_MS) + 500, undefined, { signal: interrupted });
  const ledgerBefore = await readLedger(admin);
  const openKeys = keysLeftOpen(load);
  process.stderr.write(`retrying ${openKeys.length} open key(s) once…\n`);
  // One more try per open key once the state has settled: it must find any charge made earlier.
  const retry = (key: string) => sendCharge(client, run.book.bodies.get(key)!, key);
  await runPool(openKeys.length, FINAL_PASS_CONCURRENCY, async (index) => interrupted.aborted || retry(openKeys[index]));
  interrupted.throwIfAborted();
  const retries = answers.splice(0);
  const ledger = await readLedger(admin);

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
  const result = resultOf(load, retries, skipped, ledger, violations, replays.compared, redisRestart);
  printSummary(options, result);
  const code = printVerdict(violations, `${result.ledgerCharges} charges, at most one per key, every answer agrees with the ledger`, options.json, result);
  if (violations.length > 0) printServiceLogs(services);
  return code;
}

async function main(options: Options): Promise<number> {
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
    if (!interruption.signal.aborted) throw error;
    console.error(`interrupted by ${interruption.signal.reason}: no verdict`);
    return 130;
  } finally {
    await stopFleet(fleet);
  }
}

runMain(USAGE, parseOptions, main);
