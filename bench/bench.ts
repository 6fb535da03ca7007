#!/usr/bin/env -S npx tsx
/**
 * What does idempotency cost, and what does the service cost against itself at an earlier commit? `npm run bench` (issues 7 and 14).
 *
 *   npm run bench                                   # everything, defaults below
 *   npm run bench -- --seconds 10 --rounds 2 --quick
 *   npm run bench -- --scenarios baseline,fresh --rounds 3
 *   npm run bench -- --quick --cpu-prof             # plus CPU profiles of fresh, replay and baseline
 *   npm run bench -- --ref 06c35d8                  # plus the service as it was at 06c35d8 (issue 14's targets)
 *
 * It builds the service and starts, each against a redis-server of its own on a free port (never
 * the shared 6379), its sides: the production build (`node dist/main.js`) on each adapter, the
 * baseline (bench/baseline-main.ts: the same build with the idempotency interceptor overridden by
 * a bypass) and, with --ref, the service of that ref, built in a temporary git worktree. Load comes
 * from autocannon in a separate process (bench/load.ts). The contention scenario also sends its
 * load to bench/floor-server.mjs (a bare node:http server answering a fixed 409): the floor the
 * machine and the client allow, measured in the same run. Scenarios and sides are interleaved
 * round by round, so drift of this shared 2-core machine hits all of them; ratios to the baseline
 * and to the ref come from the same round. Writes bench/results/<date>.json and .svg,
 * bench/chart.svg, and the table between the markers of bench/README.md. Progress goes to stderr,
 * the summary to stdout. Every process it started is stopped, and the worktree removed, at the end,
 * on error and on Ctrl-C.
 *
 * Exit codes: 0 measured (targets may still FAIL: they are printed), 1 the bench itself failed,
 * 2 bad arguments.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { UsageError } from '../scripts/lib/cli.js';
import { hasRedisServerBinary, runToExit } from '../tools/process/index.js';
import { round } from '../tools/stats.js';
import { parseOptions, USAGE } from './lib/options.js';
import { RESULTS_DIR, ROOT } from './lib/paths.js';
import {
  build,
  buildRef,
  type Context,
  log,
  resolveRef,
  servicesStarted,
  startFloor,
  startDatabase,
  startSide,
  startStore,
  stopEverything,
  stopRound,
} from './lib/processes.js';
import { attributeRoundTrips, evaluateTargets, printSummary, summarizeContention, summarizeScenarios, writeOutputs } from './lib/report.js';
import { runsContention, sideName, sidesInRound, throughputRows } from './lib/sides.js';
import { type BenchOptions, type BenchResult, type ContentionRun, DEFAULT_ADAPTER, type ProfiledRun, type ThroughputRun } from './lib/types.js';
import { sanityChecks, warmUp } from './scenarios/checks.js';
import { runContention } from './scenarios/contention.js';
import { runProfile } from './scenarios/profile.js';
import { runSoak } from './scenarios/soak.js';
import { runThroughput } from './scenarios/throughput.js';

async function gitInfo(refCommit: string | null): Promise<BenchResult['git']> {
  const commit = await runToExit('git', ['rev-parse', 'HEAD'], { cwd: ROOT });
  const status = await runToExit('git', ['status', '--porcelain'], { cwd: ROOT });
  if (commit.code !== 0 || status.code !== 0) return { commit: null, dirtyFiles: null, refCommit };
  return { commit: commit.stdout.trim(), dirtyFiles: status.stdout.split('\n').filter(Boolean).length, refCommit };
}

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
  const refCommit = options.ref === null ? null : await resolveRef(options.ref);
  if (options.ref !== null && refCommit === null) {
    console.error(`error: --ref ${options.ref} names no commit of this repository`);
    return 2;
  }
  if (!hasRedisServerBinary) {
    console.error('error: the bench starts its own redis-server and none is installed (apt-get install redis-server)');
    return 1;
  }

  const startedAt = new Date();
  const startedAtIso = startedAt.toISOString().replace(/\.\d+Z$/, 'Z');
  const stamp = startedAtIso.replace(/:/g, '-');
  let interrupted = false;
  const interrupt = (signal: NodeJS.Signals) => {
    // Ctrl-C can arrive twice (from the terminal, and relayed by tsx): the handler stays, so that
    // Node (or tsx's own handler, once no other is left) does not end the process before the cleanup.
    if (interrupted) return;
    interrupted = true;
    log(`bench: ${signal}: stopping everything it started`);
    void stopEverything()
      .catch((error: unknown) => log(`bench: stopping failed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  mkdirSync(RESULTS_DIR, { recursive: true });

  const machine: BenchResult['machine'] = {
    node: process.versions.node,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    loadAverageAtStart: loadavg().map((value) => round(value, 2)),
    redis: (await runToExit('redis-server', ['--version'])).stdout.match(/v=(\S+)/)?.[0].replace('v=', 'Redis ') ?? 'Redis',
  };
  log(`bench: ${JSON.stringify(options)}`);
  log(`bench: Node ${machine.node}, ${machine.cpus} CPUs, load average ${machine.loadAverageAtStart.join(' ')}`);

  try {
    if (options.build) await build();
    if (!existsSync(join(ROOT, 'dist', 'main.js'))) throw new Error('dist/main.js is missing: run without --no-build');
    const sides = sidesInRound(options);
    const rows = throughputRows(options);
    const context: Context = {
      options,
      stores: {},
      databases: {},
      processes: {},
      workers: {},
      refCheckout: options.ref !== null && sides.includes('ref') ? await buildRef(options.ref) : undefined,
      floor: runsContention(options) ? await startFloor() : undefined,
    };
    for (const side of sides) {
      context.stores[side] = await startStore(`${sideName(side, options.ref)} side`);
      if (side !== 'ref') context.databases[side] = await startDatabase(`${sideName(side, options.ref)} side`);
    }
    let checks: string[] = [];
    const runs: ThroughputRun[] = [];
    const contention: ContentionRun[] = [];
    for (let round_ = 1; round_ <= options.rounds; round_++) {
      log(`bench: ---- round ${round_} of ${options.rounds} ----`);
      // New processes every round: one that comes out slower for its whole life (JIT decisions, heap
      // layout, where the scheduler puts it: up to 25 % here) then weighs one round of the median.
      for (const side of sides) context.processes[side] = await startSide(context, side, `r${round_}`);
      if (round_ === 1) checks = await sanityChecks(context);
      await warmUp(context);
      for (const { scenario, side } of rows) {
        const run = await runThroughput(context, scenario, side, round_);
        log(
          `bench: ${run.label} r${round_}: ${run.reqPerSec} req/s, p99 ${run.latencyMs.p99} ms, ${run.redis.roundTripsPerRequest} round trips/req, ` +
            `${run.redis.commandsPerRequest} commands/req, ELU ${run.elu}, CPU ${run.cpuUsPerRequest} µs/req, RSS ${run.rssMB} MB, load average ${run.loadAverage1m}`,
        );
        runs.push(run);
      }
      if (runsContention(options)) contention.push(await runContention(context, round_));
      await stopRound(context);
    }
    attributeRoundTrips(runs);

    // The soak and the profiles use processes of their own on the same stores.
    const onDefaultAdapter = (scenario: 'fresh' | 'replay') => rows.some((row) => row.scenario === scenario && row.side === DEFAULT_ADAPTER);
    const soak = options.quick || !onDefaultAdapter('fresh') ? null : await runSoak(context);
    const profiles: ProfiledRun[] = [];
    if (options.cpuProf) {
      for (const scenario of ['fresh', 'replay'] as const) if (onDefaultAdapter(scenario)) profiles.push(await runProfile(context, stamp, scenario));
      if (options.scenarios.includes('baseline')) profiles.push(await runProfile(context, stamp, 'baseline'));
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
      git: await gitInfo(refCommit),
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
    for (const service of servicesStarted) {
      const tail = service.logs.trim().split('\n').slice(-15).join('\n    ');
      if (tail) console.error(`  last lines of ${service.name}:\n    ${tail}`);
    }
    await stopEverything();
    process.exitCode = 1;
  },
);
