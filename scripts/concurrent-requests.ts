#!/usr/bin/env -S npx tsx
/**
 * Proves the idempotency guarantee end to end: many identical charge requests that share one
 * Idempotency-Key must create exactly one charge at the gateway, however they race.
 *
 *   npx tsx scripts/concurrent-requests.ts --url http://127.0.0.1:3000 --requests 100 --concurrency 100
 *
 * Phase 1 ("concurrent") fires the requests at the same time with one fresh key: one of them
 * runs the charge, the duplicates that arrive meanwhile get 409 REQUEST_IN_PROGRESS (or, when the
 * service is configured to wait, the stored outcome). Phase 2 ("retry storm") repeats them after
 * the first outcome is stored: every one must be a replay of the same charge. Between the phases
 * the mock gateway's ledger is read to count the charges that really happened.
 *
 * It charges through PaymentsClient, one attempt per request (the script counts every answer, so
 * the client must not retry), and reads the ledger through its typed API.
 */
import { randomUUID } from 'node:crypto';
import { createPaymentsApi, PaymentsClient } from '@idempotent-payments/client';
import { answersOk } from '../test/harness/index.js';
import { round } from './lib/stats.js';
import { UsageError, formatCounts, parseCli, positiveInt, runMain, valueOptions } from './lib/cli.js';
import { describeError, recordingFetch, runPool, sendCharge, type Answer } from './lib/recorded-charges.js';
import { countBy, latencyOf, ms, printTable, printVerdict } from './lib/report.js';

const USAGE = `Usage: npx tsx scripts/concurrent-requests.ts [options]

  --url <url>            service base URL; repeat to spread requests round-robin over
                         several instances (default http://127.0.0.1:3000)
  --requests <n>         requests per phase (default 100)
  --concurrency <n>      requests in flight at most (default: --requests)
  --amount <n>           charge amount in minor units (default 1999)
  --api-key <key>        sent as "Authorization: Bearer <key>" (default $API_KEY)
  --admin-token <token>  sent as X-Admin-Token to read the ledger (default $ADMIN_TOKEN)
  --timeout-ms <n>       per-request timeout (default 30000)
  --json                 also print the result as one line: RESULT {...}
  --help                 show this help

Exit codes: 0 passed, 1 a check failed, 2 bad arguments or service unreachable.`;

type Options = Exclude<ReturnType<typeof parseOptions>, 'help'>;
type PhaseSummary = ReturnType<typeof summarize>;

function parseOptions(argv: string[]) {
  const values = parseCli(argv, {
    url: { type: 'string', multiple: true },
    ...valueOptions('requests', 'concurrency', 'amount', 'api-key', 'admin-token', 'timeout-ms'),
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (values.help) return 'help';
  const requests = positiveInt('--requests', values.requests, 100);
  return {
    urls: (values.url ?? ['http://127.0.0.1:3000']).map(baseUrl),
    requests,
    // More workers than requests would only sit idle.
    concurrency: Math.min(positiveInt('--concurrency', values.concurrency, requests), requests),
    amount: positiveInt('--amount', values.amount, 1999),
    // An empty variable means "not set", so `API_KEY= npx tsx ...` disables the header.
    apiKey: values['api-key'] ?? process.env.API_KEY,
    adminToken: values['admin-token'] ?? process.env.ADMIN_TOKEN,
    timeoutMs: positiveInt('--timeout-ms', values['timeout-ms'], 30_000),
    json: values.json ?? false,
  };
}

function baseUrl(raw: string): string {
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') throw new UsageError(`--url "${raw}" is not a valid http or https URL`);
  // Paths are appended to it, so "http://host:3000/" must not become "http://host:3000//api".
  return url.href.replace(/\/+$/, '');
}

/** Counts the charges the mock gateway really made for the key; null count when unreadable. */
async function readLedger(key: string, options: Options): Promise<{ count: number | null; error?: string }> {
  try {
    const { data, error, response } = await createPaymentsApi(options.urls[0]).GET('/api/admin/provider/charges', {
      params: { query: { idempotencyKey: key } },
      headers: options.adminToken ? { 'X-Admin-Token': options.adminToken } : {},
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    if (data) return { count: data.charges.length };
    const hint = response.status === 401 || response.status === 403 ? ' (check --admin-token)' : '';
    return { count: null, error: `ledger answered HTTP ${response.status}${hint}: ${JSON.stringify(error).slice(0, 200)}` };
  } catch (error) {
    return { count: null, error: `ledger request failed: ${describeError(error)}` };
  }
}

async function runPhase(label: string, key: string, options: Options): Promise<PhaseSummary> {
  const answers: Answer[] = [];
  const client = new PaymentsClient({
    baseUrl: options.urls[0],
    apiKey: options.apiKey,
    fetch: recordingFetch(options.urls, (answer) => answers.push(answer)),
    maxAttempts: 1,
    attemptTimeoutMs: options.timeoutMs,
    deadlineMs: options.timeoutMs,
  });
  const body = { amount: options.amount, currency: 'EUR', customerId: 'cus_concurrency', description: 'concurrent-requests script' };
  // Progress on stderr (stdout stays clean for the table), every 10 %.
  const step = Math.ceil(options.requests / 10);
  let done = 0;
  const tick = () => (++done % step === 0 || done === options.requests ? process.stderr.write(`[${label}] ${done}/${options.requests} done\n`) : undefined);
  const started = performance.now();
  await runPool(options.requests, options.concurrency, () => sendCharge(client, body, key).finally(tick));
  return summarize(answers, performance.now() - started);
}

function summarize(answers: Answer[], wallMs: number) {
  const created = answers.filter((answer) => answer.status === 201);
  return {
    requests: answers.length,
    /** 201 that ran the charge now; a missing Idempotency-Cached counts here: no proven replay, so the storm check fails on it. */
    fresh: created.filter((answer) => answer.cached !== true).length,
    replays: created.filter((answer) => answer.cached === true).length,
    /** 409: a duplicate arrived while the first request was still running. */
    conflicts: answers.filter((answer) => answer.status === 409).length,
    /** No HTTP response: connection failure or timeout. */
    errors: answers.filter((answer) => answer.status === 'error').length,
    /** Every answer by status, "502 PROVIDER_UNAVAILABLE" when the body names a code. */
    statuses: countBy(answers, (answer) => (answer.code ? `${answer.status} ${answer.code}` : String(answer.status))),
    /** Distinct charge ids among the 201 responses, in order of first appearance. */
    chargeIds: [...new Set(created.flatMap((answer) => answer.chargeId ?? []))],
    latencyMs: latencyOf(answers),
    wallMs: round(wallMs, 1),
    /** A few distinct network errors, enough to diagnose without flooding the output. */
    errorSamples: [...new Set(answers.filter((answer) => answer.status === 'error').map((answer) => answer.text))].slice(0, 3),
  };
}

function evaluate(concurrent: PhaseSummary, storm: PhaseSummary, ledger: Awaited<ReturnType<typeof readLedger>>): string[] {
  const failures: string[] = [];
  if (ledger.count === null) failures.push(`ledger count unknown: ${ledger.error}`);
  else if (ledger.count !== 1) failures.push(`ledger holds ${ledger.count} charges for the key, expected exactly 1`);
  const allIds = [...new Set([...concurrent.chargeIds, ...storm.chargeIds])];
  if (allIds.length !== 1) failures.push(`${allIds.length} distinct charge ids among 201 responses, expected exactly 1${listIds(allIds)}`);
  if (concurrent.fresh + concurrent.replays === 0) failures.push(`concurrent phase got no 201 (statuses: ${formatCounts(concurrent.statuses)})`);
  if (storm.replays !== storm.requests) {
    failures.push(
      `retry storm: ${storm.requests - storm.replays} of ${storm.requests} requests were not replays ` +
        `(statuses: ${formatCounts(storm.statuses)}, fresh 201: ${storm.fresh})`,
    );
  }
  // The expected id is the one phase 1 produced; without it, a storm of replays proves nothing.
  const expectedId = concurrent.chargeIds[0];
  if (storm.replays > 0 && !(expectedId !== undefined && storm.chargeIds.length === 1 && storm.chargeIds[0] === expectedId)) {
    failures.push(`retry storm replayed charge ids${listIds(storm.chargeIds)} instead of ${expectedId ?? 'the phase 1 charge (none)'}`);
  }
  return failures;
}

function listIds(ids: string[]): string {
  return ids.length === 0 ? '' : `: ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? `, … (${ids.length - 5} more)` : ''}`;
}

/** One column per phase, so the two runs can be compared line by line. */
function printPhases(concurrent: PhaseSummary, storm: PhaseSummary): void {
  const row = (label: string, value: (phase: PhaseSummary) => string | number) => [label, String(value(concurrent)), String(value(storm))];
  // One row per other status seen in either phase, so 402/502/503 stand out by code.
  const others = [...new Set([...Object.keys(concurrent.statuses), ...Object.keys(storm.statuses)])].filter((status) => !/^(201|409|error)$/.test(status));
  printTable([
    ['', 'concurrent', 'retry storm'],
    row('requests', (phase) => phase.requests),
    row('201 fresh (cached: false)', (phase) => phase.fresh),
    row('201 replays (cached: true)', (phase) => phase.replays),
    row('409 in progress', (phase) => phase.conflicts),
    ...(others.length === 0
      ? [row('other statuses', () => 0)]
      : others.sort().map((status) => row(`other: ${status}`, (phase) => phase.statuses[status] ?? 0))),
    row('errors (no response)', (phase) => phase.errors),
    row('distinct charge ids', (phase) => phase.chargeIds.length),
    row('latency p50 (ms)', (phase) => ms(phase.latencyMs.p50)),
    row('latency p99 (ms)', (phase) => ms(phase.latencyMs.p99)),
    row('wall time (ms)', (phase) => ms(phase.wallMs)),
  ]);
}

async function main(options: Options): Promise<number> {
  // A stopped service exits 2 with one clear message instead of a table of errors.
  const unreachable = await Promise.all(
    options.urls.map((url) =>
      answersOk(`${url}/health`, options.timeoutMs).then(
        (ok) => (ok ? [] : [`${url}: /health did not answer 2xx`]),
        (error: unknown) => [`${url}: ${describeError(error)}`],
      ),
    ),
  );
  if (unreachable.flat().length > 0) {
    throw new UsageError(
      `cannot reach the service:\n  ${unreachable.flat().join('\n  ')}\nIs it running? Start it (e.g. \`docker compose up\`) or pass the right --url.`,
    );
  }
  // A fresh key per run: a key reused from an earlier run would make every request a replay.
  const key = `conc-${randomUUID()}`;
  const concurrent = await runPhase('concurrent', key, options);
  // Read between the phases: phase 1 is where a double charge would happen.
  const ledger = await readLedger(key, options);
  const storm = await runPhase('retry storm', key, options);
  const failures = evaluate(concurrent, storm, ledger);

  const ids = [...new Set([...concurrent.chargeIds, ...storm.chargeIds])];
  console.log(`\nIdempotency-Key: ${key}`);
  console.log(`Targets:         ${options.urls.join(', ')}${options.urls.length > 1 ? ' (round-robin)' : ''}`);
  console.log(`Per phase:       ${options.requests} requests, concurrency ${options.concurrency}\n`);
  printPhases(concurrent, storm);
  console.log(`\nCharge ids:      ${ids.length === 0 ? '(none)' : ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''}`);
  console.log(`Ledger charges:  ${ledger.count ?? `unknown (${ledger.error})`}`);
  for (const sample of concurrent.errorSamples) console.log(`Error (concurrent): ${sample}`);
  for (const sample of storm.errorSamples) console.log(`Error (retry storm): ${sample}`);
  return printVerdict(failures, `exactly one charge (${ids[0]}); every retry replayed it`, options.json, {
    key,
    urls: options.urls,
    phases: { concurrent, storm },
    ledgerCount: ledger.count,
    ledgerError: ledger.error ?? null,
    failures,
  });
}

runMain(USAGE, parseOptions, main);
