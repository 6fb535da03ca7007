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
 * Exit codes: 0 all checks passed, 1 a check failed, 2 bad arguments or service unreachable.
 * It calls the service through the typed client generated from openapi.json (client/).
 */
import { randomUUID } from 'node:crypto';
import { createPaymentsApi, type PaymentsApi } from '@idempotent-payments/client';
import { percentile } from '../tools/stats.js';
import { describeError, runPool, type ChargeAnswer } from './lib/charge-client.js';
import { UsageError, formatCounts, readOptions, parseCli, positiveInt } from './lib/cli.js';

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

interface Options {
  urls: string[];
  requests: number;
  concurrency: number;
  amount: number;
  apiKey?: string;
  adminToken?: string;
  timeoutMs: number;
  json: boolean;
}

type Outcome = ChargeAnswer;

interface PhaseSummary {
  requests: number;
  /** 201 that ran the charge now (Idempotency-Cached: false or header missing). */
  fresh: number;
  /** 201 served from the stored outcome (Idempotency-Cached: true). */
  replays: number;
  /** 409: a duplicate arrived while the first request was still running. */
  conflicts: number;
  /** No HTTP response: connection failure or timeout. */
  errors: number;
  /** Any other status, keyed "502" or "502 PROVIDER_UNAVAILABLE" when the body names a code. */
  otherStatuses: Record<string, number>;
  /** Every outcome by HTTP status ("201", "409", ..., "error"). */
  statuses: Record<string, number>;
  /** Distinct charge ids among the 201 responses, in order of first appearance. */
  chargeIds: string[];
  latencyMs: { p50: number | null; p99: number | null };
  wallMs: number;
  /** A few distinct network error messages, enough to diagnose without flooding the output. */
  errorSamples: string[];
}

interface LedgerRead {
  count: number | null;
  error?: string;
}

// ---------------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------------

function parseOptions(argv: string[]): Options | 'help' {
  const values = parseCli(argv, {
    url: { type: 'string', multiple: true },
    requests: { type: 'string' },
    concurrency: { type: 'string' },
    amount: { type: 'string' },
    'api-key': { type: 'string' },
    'admin-token': { type: 'string' },
    'timeout-ms': { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (values.help) return 'help';

  const requests = positiveInt('--requests', values.requests, 100);
  return {
    urls: (values.url ?? ['http://127.0.0.1:3000']).map(normalizeUrl),
    requests,
    // More workers than requests would only sit idle.
    concurrency: Math.min(positiveInt('--concurrency', values.concurrency, requests), requests),
    amount: positiveInt('--amount', values.amount, 1999),
    // An empty variable means "not set", so `API_KEY= npx tsx ...` disables the header.
    apiKey: nonEmpty(values['api-key'] ?? process.env.API_KEY),
    adminToken: nonEmpty(values['admin-token'] ?? process.env.ADMIN_TOKEN),
    timeoutMs: positiveInt('--timeout-ms', values['timeout-ms'], 30_000),
    json: values.json ?? false,
  };
}

function normalizeUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url "${raw}" is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url "${raw}" must use http or https`);
  }
  // Paths are appended to it, so "http://host:3000/" must not become "http://host:3000//api".
  return url.href.replace(/\/+$/, '');
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

/** A client for one target, with the merchant's API key when one is given. */
function clientFor(url: string, options: Options): PaymentsApi {
  return createPaymentsApi(url, { headers: options.apiKey ? { Authorization: `Bearer ${options.apiKey}` } : {} });
}

/** Sends one charge; never throws, so one failed request cannot abort the whole phase. */
async function chargeOnce(url: string, key: string, options: Options): Promise<Outcome> {
  const started = performance.now();
  try {
    // The client reads the body: the latency covers what a client really waits for.
    const { data, error, response } = await clientFor(url, options).POST('/api/payments/charge', {
      params: { header: { 'Idempotency-Key': key } },
      body: { amount: options.amount, currency: 'EUR', customerId: 'cus_concurrency', description: 'concurrent-requests script' },
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    const latencyMs = performance.now() - started;
    const cachedHeader = response.headers.get('idempotency-cached');
    return {
      status: response.status,
      cached: cachedHeader === null ? null : cachedHeader.trim().toLowerCase() === 'true',
      chargeId: response.status === 201 ? data?.id : undefined,
      // A problem document; a proxy's own error page has no code.
      code: typeof error === 'object' && error !== null ? error.code : undefined,
      text: '',
      latencyMs,
    };
  } catch (error) {
    return { status: 'error', cached: null, text: describeError(error, options.timeoutMs) };
  }
}

/** Counts the charges the mock gateway really made for the key; null count when unreadable. */
async function readLedger(url: string, key: string, options: Options): Promise<LedgerRead> {
  try {
    const { data, error, response } = await clientFor(url, options).GET('/api/admin/provider/charges', {
      params: { query: { idempotencyKey: key } },
      headers: options.adminToken ? { 'X-Admin-Token': options.adminToken } : {},
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    if (!data) {
      const hint = response.status === 401 || response.status === 403 ? ' (check --admin-token)' : '';
      return { count: null, error: `ledger answered HTTP ${response.status}${hint}: ${JSON.stringify(error).slice(0, 200)}` };
    }
    return { count: data.charges.length };
  } catch (error) {
    return { count: null, error: `ledger request failed: ${describeError(error, options.timeoutMs)}` };
  }
}

/**
 * Any HTTP answer (even 404) proves the instance is listening; only a connection failure means it
 * cannot be reached. Checked up front so a stopped service exits 2 with one clear message
 * instead of a table full of errors.
 */
async function findUnreachable(options: Options): Promise<string[]> {
  const results = await Promise.all(
    options.urls.map(async (url) => {
      try {
        const { response } = await clientFor(url, options).GET('/health', { parseAs: 'stream', signal: AbortSignal.timeout(options.timeoutMs) });
        await response.body?.cancel();
        return undefined;
      } catch (error) {
        return `${url}: ${describeError(error, options.timeoutMs)}`;
      }
    }),
  );
  return results.filter((problem): problem is string => problem !== undefined);
}

// ---------------------------------------------------------------------------------------------
// Running a phase
// ---------------------------------------------------------------------------------------------

/** Progress on stderr (stdout stays clean for the table): every 10 %, or each second if slower. */
function createProgress(label: string, total: number) {
  let done = 0;
  let lastPrinted = 0;
  let lastPrintedAt = performance.now();
  const print = () => {
    lastPrinted = done;
    lastPrintedAt = performance.now();
    process.stderr.write(`[${label}] ${done}/${total} done\n`);
  };
  const step = Math.max(1, Math.ceil(total / 10));
  const heartbeat = setInterval(() => {
    if (done !== lastPrinted && performance.now() - lastPrintedAt >= 1000) print();
  }, 1000);
  heartbeat.unref();
  return {
    tick() {
      done++;
      if (done === total || Math.floor(done / step) > Math.floor(lastPrinted / step)) print();
    },
    stop() {
      clearInterval(heartbeat);
    },
  };
}

async function runPhase(label: string, key: string, options: Options): Promise<PhaseSummary> {
  const progress = createProgress(label, options.requests);
  const started = performance.now();
  const outcomes = await runPool(options.requests, options.concurrency, async (index) => {
    // Round-robin over the instances, so duplicates race across processes, not just inside one.
    const outcome = await chargeOnce(options.urls[index % options.urls.length], key, options);
    progress.tick();
    return outcome;
  });
  const wallMs = performance.now() - started;
  progress.stop();
  return summarize(outcomes, wallMs);
}

function summarize(outcomes: Outcome[], wallMs: number): PhaseSummary {
  const summary: PhaseSummary = {
    requests: outcomes.length,
    fresh: 0,
    replays: 0,
    conflicts: 0,
    errors: 0,
    otherStatuses: {},
    statuses: {},
    chargeIds: [],
    latencyMs: { p50: null, p99: null },
    wallMs: round(wallMs),
    errorSamples: [],
  };
  for (const outcome of outcomes) {
    increment(summary.statuses, String(outcome.status));
    if (outcome.status === 'error') {
      summary.errors++;
      if (summary.errorSamples.length < 3 && !summary.errorSamples.includes(outcome.text)) {
        summary.errorSamples.push(outcome.text);
      }
    } else if (outcome.status === 201) {
      // A missing header is counted as fresh: it is not a proven replay, so the storm check fails on it.
      if (outcome.cached === true) summary.replays++;
      else summary.fresh++;
      if (outcome.chargeId && !summary.chargeIds.includes(outcome.chargeId)) summary.chargeIds.push(outcome.chargeId);
    } else if (outcome.status === 409) {
      summary.conflicts++;
    } else {
      increment(summary.otherStatuses, outcome.code ? `${outcome.status} ${outcome.code}` : String(outcome.status));
    }
  }
  const latencies = outcomes.flatMap((outcome) => (outcome.latencyMs === undefined ? [] : [outcome.latencyMs]));
  summary.latencyMs = { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  return summary;
}

function increment(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

// ---------------------------------------------------------------------------------------------
// Verdict and output
// ---------------------------------------------------------------------------------------------

function evaluate(concurrent: PhaseSummary, storm: PhaseSummary, ledger: LedgerRead): string[] {
  const failures: string[] = [];

  if (ledger.count === null) failures.push(`ledger count unknown: ${ledger.error}`);
  else if (ledger.count !== 1) failures.push(`ledger holds ${ledger.count} charges for the key, expected exactly 1`);

  const allIds = [...new Set([...concurrent.chargeIds, ...storm.chargeIds])];
  if (allIds.length !== 1) {
    failures.push(`${allIds.length} distinct charge ids among 201 responses, expected exactly 1${listIds(allIds)}`);
  }

  if (concurrent.fresh + concurrent.replays === 0) {
    failures.push(`concurrent phase got no 201 (statuses: ${formatCounts(concurrent.statuses)})`);
  }

  // The expected id is the one phase 1 produced; without it, a storm of replays proves nothing.
  const expectedId = concurrent.chargeIds[0];
  const stormAllReplays = storm.replays === storm.requests;
  const stormSameId = expectedId !== undefined && storm.chargeIds.length === 1 && storm.chargeIds[0] === expectedId;
  if (!stormAllReplays) {
    failures.push(
      `retry storm: ${storm.requests - storm.replays} of ${storm.requests} requests were not replays ` +
        `(statuses: ${formatCounts(storm.statuses)}, fresh 201: ${storm.fresh})`,
    );
  }
  if (storm.replays > 0 && !stormSameId) {
    failures.push(`retry storm replayed charge ids${listIds(storm.chargeIds)} instead of ${expectedId ?? 'the phase 1 charge (none)'}`);
  }
  return failures;
}

function listIds(ids: string[]): string {
  const shown = ids.slice(0, 5).join(', ');
  return ids.length === 0 ? '' : `: ${shown}${ids.length > 5 ? `, … (${ids.length - 5} more)` : ''}`;
}

/** One column per phase, so the two runs can be compared line by line. */
function printTable(concurrent: PhaseSummary, storm: PhaseSummary): void {
  const ms = (value: number | null) => (value === null ? '-' : value.toFixed(1));
  const rows: Array<[string, string, string]> = [
    ['', 'concurrent', 'retry storm'],
    ['requests', String(concurrent.requests), String(storm.requests)],
    ['201 fresh (cached: false)', String(concurrent.fresh), String(storm.fresh)],
    ['201 replays (cached: true)', String(concurrent.replays), String(storm.replays)],
    ['409 in progress', String(concurrent.conflicts), String(storm.conflicts)],
  ];
  // One row per other status actually seen in either phase, so 402/502/503 stand out by code.
  const otherKeys = [...new Set([...Object.keys(concurrent.otherStatuses), ...Object.keys(storm.otherStatuses)])].sort();
  for (const key of otherKeys) {
    rows.push([`other: ${key}`, String(concurrent.otherStatuses[key] ?? 0), String(storm.otherStatuses[key] ?? 0)]);
  }
  if (otherKeys.length === 0) rows.push(['other statuses', '0', '0']);
  rows.push(
    ['errors (no response)', String(concurrent.errors), String(storm.errors)],
    ['distinct charge ids', String(concurrent.chargeIds.length), String(storm.chargeIds.length)],
    ['latency p50 (ms)', ms(concurrent.latencyMs.p50), ms(storm.latencyMs.p50)],
    ['latency p99 (ms)', ms(concurrent.latencyMs.p99), ms(storm.latencyMs.p99)],
    ['wall time (ms)', ms(concurrent.wallMs), ms(storm.wallMs)],
  );

  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => row[column].length)));
  for (const [label, first, second] of rows) {
    console.log(`  ${label.padEnd(widths[0])}   ${first.padStart(widths[1])}   ${second.padStart(widths[2])}`);
  }
}

function printReport(key: string, options: Options, concurrent: PhaseSummary, storm: PhaseSummary, ledger: LedgerRead, failures: string[]): void {
  console.log('');
  console.log(`Idempotency-Key: ${key}`);
  console.log(`Targets:         ${options.urls.join(', ')}${options.urls.length > 1 ? ' (round-robin)' : ''}`);
  console.log(`Per phase:       ${options.requests} requests, concurrency ${options.concurrency}`);
  console.log('');
  printTable(concurrent, storm);
  console.log('');
  const ids = [...new Set([...concurrent.chargeIds, ...storm.chargeIds])];
  console.log(`Charge ids:      ${ids.length === 0 ? '(none)' : ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''}`);
  console.log(`Ledger charges:  ${ledger.count ?? `unknown (${ledger.error})`}`);
  for (const [label, summary] of [
    ['concurrent', concurrent],
    ['retry storm', storm],
  ] as const) {
    for (const sample of summary.errorSamples) console.log(`Error (${label}): ${sample}`);
  }
  console.log('');
  if (failures.length === 0) {
    console.log(`Verdict: PASS - exactly one charge (${ids[0]}); every retry replayed it`);
  } else {
    console.log('Verdict: FAIL');
    for (const failure of failures) console.log(`  - ${failure}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const options = readOptions(parseOptions, USAGE);
  if (typeof options === 'number') return options;

  const unreachable = await findUnreachable(options);
  if (unreachable.length > 0) {
    console.error(`error: cannot reach the service:\n  ${unreachable.join('\n  ')}`);
    console.error('Is it running? Start it (e.g. `docker compose up`) or pass the right --url.');
    return 2;
  }

  // A fresh key per run: a key reused from an earlier run would make every request a replay.
  const key = `conc-${randomUUID()}`;
  const concurrent = await runPhase('concurrent', key, options);
  // Read between the phases: phase 1 is where a double charge would happen.
  const ledger = await readLedger(options.urls[0], key, options);
  const storm = await runPhase('retry storm', key, options);

  const failures = evaluate(concurrent, storm, ledger);
  printReport(key, options, concurrent, storm, ledger, failures);
  if (options.json) {
    const result = {
      key,
      urls: options.urls,
      phases: { concurrent, storm },
      ledgerCount: ledger.count,
      ledgerError: ledger.error ?? null,
      ok: failures.length === 0,
      failures,
    };
    console.log(`RESULT ${JSON.stringify(result)}`);
  }
  return failures.length === 0 ? 0 : 1;
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
