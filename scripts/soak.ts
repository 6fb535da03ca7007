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
 * postgres@127.0.0.1:5432; dropped at the end), a RabbitMQ vhost and N processes of the built
 * service (`dist/main.js`) sharing them.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createPaymentsApi, PaymentsClient, type ChargeRequest, type PaymentsApi } from '@idempotent-payments/client';
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

type Options = Exclude<ReturnType<typeof parseOptions>, 'help'>;
/** Idempotency-Key → charge ids the gateway made for it. */
type Ledger = Map<string, string[]>;

/** How to undo what the soak started, on every way out (an interrupt too); the services are pushed last and stopped first. */
const teardown: Array<() => Promise<unknown>> = [];

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

async function startFleet(options: Options): Promise<{ redis: RedisServer; services: ServiceProcess[] }> {
  if (!hasRedisServerBinary) throw new UsageError('redis-server is not installed; the soak starts (and crashes) its own.');
  if (!existsSync('dist/main.js')) throw new UsageError('dist/main.js is missing; run `npm run build` first.');
  process.stderr.write(`starting redis-server (AOF), a database and ${options.instances} service instance(s)…\n`);
  try {
    const redis = await RedisServer.start({ appendOnly: true });
    teardown.push(() => redis.stop());
    const database = await TestDatabase.create();
    teardown.push(() => database.drop());
    const vhost = await RabbitMqVhost.create();
    teardown.push(() => vhost.delete());
    // The instances migrate the database at start, together: its advisory lock has them apply each migration once.
    const env = { ...SERVICE_ENV, REDIS_URL: redis.url, DATABASE_URL: database.url, BROKER_URL: vhost.url };
    const services = await Promise.all(Array.from({ length: options.instances }, () => ServiceProcess.start(env)));
    teardown.push(() => Promise.all(services.map((service) => service.stop())));
    return { redis, services };
  } catch (error) {
    // The harness's messages carry the cause (and the service's own output); a service that did start is killed on exit.
    throw new UsageError(`could not start the processes: ${(error as Error).message}`);
  }
}

async function stopFleet(): Promise<void> {
  for (const undo of teardown.splice(0).reverse()) await undo();
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
async function driveLoad(options: Options, startedAt: number, sendNext: () => Promise<void>, progressNote: () => string): Promise<number> {
  const total = options.seconds * options.rate;
  const inFlight = new Set<Promise<void>>();
  let [due, skipped] = [0, 0];
  const progress = setInterval(() => {
    const elapsed = Math.floor((performance.now() - startedAt) / 1000);
    process.stderr.write(`[soak ${elapsed}s/${options.seconds}s] sent ${due - skipped}  in flight ${inFlight.size}  ${progressNote()}\n`);
  }, 1000);
  while (due < total) {
    const dueNow = Math.min(total, Math.floor(((performance.now() - startedAt) / 1000) * options.rate) + 1);
    for (; due < dueNow; due++) {
      if (inFlight.size >= options.maxInFlight) {
        skipped++;
        continue;
      }
      const pending = sendNext().finally(() => inFlight.delete(pending));
      inFlight.add(pending);
    }
    await sleep(5);
  }
  await Promise.all(inFlight).finally(() => clearInterval(progress));
  return skipped;
}

/** Keys whose last answer was neither 201 nor 402; a request without answer counts as the last (it may have run last). */
function keysLeftOpen(answers: Answer[]): string[] {
  const answeredAt = (answer: Answer) => answer.answeredAtMs ?? Number.POSITIVE_INFINITY;
  const last = new Map<string, Answer>();
  for (const answer of answers) if (answeredAt(answer) >= answeredAt(last.get(answer.key) ?? answer)) last.set(answer.key, answer);
  return [...last.values()].filter((answer) => answer.status !== 201 && answer.status !== 402).map((answer) => answer.key);
}

/** Every answer against the gateway's ledger after the load (`ledger`) and before the final retries (`ledgerBefore`). */
function findViolations(load: Answer[], retries: Answer[], ledgerBefore: Ledger, ledger: Ledger): string[] {
  // In sending order, so violations read as a timeline (answers arrive out of order).
  const all = [...load, ...retries].sort((a, b) => a.id - b.id);
  const history = (key: string) => `; requests: ${all.flatMap((answer) => (answer.key === key ? [describe(answer)] : [])).join(', ')}`;
  const charged = (key: string) => ledger.get(key) ?? [];
  return [
    // At most one charge per key.
    ...[...ledger].filter(([, ids]) => ids.length > 1).map(([key, ids]) => `${ids.length} ledger charges for key ${key}: ${ids.join(', ')}${history(key)}`),
    // Every 201 carries its key's ledger charge (keys with several are reported once, above).
    ...all
      .filter((answer) => answer.status === 201 && charged(answer.key).length <= 1 && answer.chargeId !== charged(answer.key)[0])
      .map(
        (answer) =>
          `${label(answer)} answered 201 with ${answer.chargeId ?? '(no id)'}, but the ledger has ${charged(answer.key)[0] ?? 'no charge'}${history(answer.key)}`,
      ),
    // Only what the service may answer a well-formed charge.
    ...all
      .filter((answer) => answer.status === 'error' || !ALLOWED_STATUSES.has(answer.status))
      .map((answer) => `${label(answer)} ${answer.status === 'error' ? 'got no answer:' : `answered ${answer.status}:`} ${snippet(answer.text)}`),
    // A charge the gateway made while answers were lost must come back on the next retry, and only it.
    ...retries
      .filter(({ key, status, chargeId }) => ledgerBefore.get(key)?.length === 1 && !(status === 201 && chargeId === ledgerBefore.get(key)![0]))
      .map(
        ({ key, status, text }) =>
          `final retry of key ${key} answered ${status} ${snippet(text)}, but the ledger held ${ledgerBefore.get(key)![0]}${history(key)}`,
      ),
  ];
}

/** One request in a key's history, compact enough for a violation line. */
function describe(answer: Answer): string {
  const kind = answer.cached === null ? '' : answer.cached ? ' replay' : ' fresh';
  return `#${answer.id} sent ${seconds(answer.sentAtMs)} → ${answer.status}${kind} ${answer.chargeId ?? ''} at ${seconds(answer.answeredAtMs)}`;
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

function resultOf(load: Answer[], retries: Answer[], skipped: number, ledger: Ledger, violations: string[], redisRestart: object) {
  const byStatus: Record<string, { fresh: number; replay: number; total: number }> = {};
  for (const { status, cached } of load) {
    const counts = (byStatus[String(status)] ??= { fresh: 0, replay: 0, total: 0 });
    counts.total++;
    // Neither without Idempotency-Cached: refused before the idempotency layer, or no answer.
    if (cached !== null) counts[cached ? 'replay' : 'fresh']++;
  }
  const counts = {
    sent: load.length,
    skipped,
    fresh: load.filter((answer) => answer.cached === false).length,
    replays: load.filter((answer) => answer.cached).length,
  };
  return {
    violations,
    counts: { ...counts, byStatus },
    finalRetries: countBy(retries, (retry) => String(retry.status)),
    keys: new Set(load.map((answer) => answer.key)).size,
    ledgerCharges: [...ledger.values()].reduce((sum, ids) => sum + ids.length, 0),
    latencyMs: latencyOf(load),
    redisRestarts: 1,
    redisRestart,
  };
}

function printSummary(options: Options, result: ReturnType<typeof resultOf>): void {
  const { counts, finalRetries } = result;
  console.log(
    `\nSoak:   ${options.seconds} s at ${options.rate} requests/s over ${options.instances} instance(s); gateway failure ${options.failureRate}, ` +
      `decline ${options.declineRate}; duplicate keys ${options.duplicateRatio}; Redis crashed at half time\n`,
  );
  const rows = Object.entries(counts.byStatus).sort(([a], [b]) => a.localeCompare(b));
  const all = { fresh: counts.fresh, replay: counts.replays, total: counts.sent };
  printTable([['status', 'fresh', 'replay', 'total'], ...[...rows, ['all', all] as const].map(([status, row]) => [status, ...Object.values(row).map(String)])]);
  console.log('');
  printTable([
    [`requests sent${counts.skipped > 0 ? ` (${counts.skipped} more skipped at the in-flight limit)` : ''}`, String(counts.sent)],
    ['idempotency keys', String(result.keys)],
    ['ledger charges', String(result.ledgerCharges)],
    ['open keys retried at the end', formatCounts(finalRetries)],
    ['latency p50 / p99 (ms)', `${ms(result.latencyMs.p50)} / ${ms(result.latencyMs.p99)}`],
    ['violations', String(result.violations.length)],
  ]);
}

async function soak(options: Options): Promise<number> {
  const { redis, services } = await startFleet(options);
  const admin = createPaymentsApi(services[0].baseUrl);
  const behavior = await admin.PUT('/api/admin/payment-behavior', {
    body: { failureRate: options.failureRate, declineRate: options.declineRate },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  if (behavior.error) throw new UsageError(`PUT /api/admin/payment-behavior answered ${behavior.response.status}: ${JSON.stringify(behavior.error)}`);

  const startedAt = performance.now();
  const answers: Answer[] = [];
  // One attempt per request, round-robin over the instances: the soak decides about retries itself.
  const client = new PaymentsClient({
    baseUrl: services[0].baseUrl,
    fetch: recordingFetch(
      services.map((service) => service.baseUrl),
      (answer) => answers.push(answer),
      startedAt,
    ),
    maxAttempts: 1,
    attemptTimeoutMs: REQUEST_TIMEOUT_MS,
  });
  const book = new KeyBook(options.duplicateRatio);
  const send = (key: string) => sendCharge(client, book.bodies.get(key)!, key);

  // The crash the service must survive: SIGKILL at half time, a second without Redis, the same data back.
  let redisDown = false;
  const redisRestart = (async () => {
    await sleep(options.seconds * 500);
    const crashedAtMs = performance.now() - startedAt;
    redisDown = true;
    await redis.crash();
    await sleep(REDIS_DOWN_MS);
    await redis.restart();
    redisDown = false;
    return { crashedAtMs, restartedAtMs: performance.now() - startedAt };
  })();
  const status = () => formatCounts(countBy(answers, (answer) => String(answer.status))) + (redisDown ? '  (redis down)' : '');
  const skipped = await driveLoad(options, startedAt, () => send(book.next()), status);
  const restart = await redisRestart;
  const load = answers.splice(0);

  process.stderr.write(`load done; waiting for the service to be ready and for error outcomes and locks to expire…\n`);
  // The service reconnects by itself; the retries need it reading Redis again.
  const ready = ({ baseUrl, process }: ServiceProcess) =>
    waitFor(`${baseUrl} is ready`, () => answersOk(`${baseUrl}/health/ready`, REQUEST_TIMEOUT_MS), { timeoutMs: 15_000, intervalMs: 100, process });
  await Promise.all(services.map(ready));
  // Stored transient errors and the locks of lost requests expire only with time.
  await sleep(Math.max(ERROR_TTL_SECONDS * 1000, LOCK_TTL_MS) + 500);
  const ledgerBefore = await readLedger(admin);
  const openKeys = keysLeftOpen(load);
  process.stderr.write(`retrying ${openKeys.length} open key(s) once…\n`);
  // One more try per open key once the state has settled: it must find any charge made earlier.
  await runPool(openKeys.length, FINAL_PASS_CONCURRENCY, (index) => send(openKeys[index]));
  const retries = answers.splice(0);
  const ledger = await readLedger(admin);

  const violations = findViolations(load, retries, ledgerBefore, ledger);
  const result = resultOf(load, retries, skipped, ledger, violations, restart);
  printSummary(options, result);
  const code = printVerdict(violations, `${result.ledgerCharges} charges, at most one per key, every answer agrees with the ledger`, options.json, result);
  // Errors only (LOG_LEVEL): the stack of a 500 is there, not in its problem body.
  if (code !== 0)
    for (const { name, logs } of services) process.stderr.write(`\n--- ${name}, last log lines:\n${logs.trim().split('\n').slice(-30).join('\n')}\n`);
  return code;
}

async function main(options: Options): Promise<number> {
  // ServiceProcess starts `dist/main.js` relative to the working directory: make it the repository.
  process.chdir(fileURLToPath(new URL('..', import.meta.url)));
  let interrupted = false;
  const interrupt = (signal: NodeJS.Signals) => {
    // A second signal means "now": the harness SIGKILLs its processes on exit.
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping the processes started by the soak, no verdict (again to force)…\n`);
    void stopFleet().finally(() => process.exit(130));
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  try {
    return await soak(options);
  } catch (error) {
    // Once interrupted, the soak fails on the processes stopped under it: no news.
    if (interrupted) return 130;
    throw error;
  } finally {
    await stopFleet();
  }
}

runMain(USAGE, parseOptions, main);
