#!/usr/bin/env -S npx tsx
/**
 * The bench: what idempotency costs, on each adapter, against the service at an earlier commit
 * (`--ref`), and the idempotency package alone against a peer package (`--scenarios layer`, or
 * `npm run bench:layer`). See docs/performance.md. Progress on stderr, the report on stdout.
 * Exit codes: 0 measured (targets may still FAIL), 1 the bench failed, 2 bad arguments.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hasRedisServerBinary, runToExit } from '../test/harness/index.js';
import { round } from '../scripts/lib/stats.js';
import {
  type BenchOptions,
  buildRef,
  type Context,
  log,
  RESULTS_DIR,
  ROOT,
  runStep,
  servicesStarted,
  startFloor,
  startSide,
  startStore,
  stopEverything,
} from './lib/processes.js';
import { type BenchResult, evaluateTargets, summarizeContention, summarizeScenarios, writeOutputs } from './lib/report.js';
import { ALL_SCENARIOS, DEFAULT_ADAPTER, HTTP_ADAPTERS, isLayerSide, runsContention, sideName, sidesInRound, throughputRows } from './lib/sides.js';
import { type ContentionRun, runContention } from './scenarios/contention.js';
import { type ProfiledRun, runProfile } from './scenarios/profile.js';
import { runSoak, SOAK_FIRST_SECONDS } from './scenarios/soak.js';
import { runThroughput, sanityChecks, type ThroughputRun, warmUp } from './scenarios/throughput.js';

/** Every option: its default (a number: an integer option `<n>`, at least `min`; false: a flag; else a text option named `value`) and its help. */
const OPTIONS: Record<string, { default: number | boolean | string | null; min?: number; value?: string; help: string }> = {
  seconds: { default: 10, help: 'length of each measured run' },
  connections: { default: 50, help: 'autocannon connections' },
  scenarios: { default: null, value: '<list>', help: `comma list of ${ALL_SCENARIOS.join(',')} (default all but layer)` },
  adapters: {
    default: HTTP_ADAPTERS.join(','),
    value: '<list>',
    help: `the service's fresh and replay and the layer sides run on each; the rest on ${DEFAULT_ADAPTER}`,
  },
  ref: { default: null, value: '<git ref>', help: 'also measure the service at this git ref (fresh and replay), built in a temporary worktree' },
  rounds: { default: 3, help: 'interleaved rounds: every scenario on every side, then again' },
  'soak-seconds': { default: 60, min: SOAK_FIRST_SECONDS + 1, help: `memory check: RSS after ${SOAK_FIRST_SECONDS} s vs after n s of fresh keys` },
  quick: { default: false, help: 'skip the soak' },
  'cpu-prof': { default: false, help: 'also profile fresh and replay (default adapter) and the baseline with node --cpu-prof' },
  'warmup-seconds': { default: 3, min: 0, help: 'unmeasured load on each new process' },
  'lead-in-seconds': { default: 2, min: 0, help: 'unmeasured load of the same scenario right before each measured run' },
  'contention-requests': { default: 1000, help: 'requests in the contention burst (and to bench/floor-server.mjs, the floor)' },
  'no-build': { default: false, help: 'use dist/ as it is instead of running `npm run build`' },
  report: { default: null, value: '<results.json>', help: 'measure nothing: the tables again from a results JSON file' },
  help: { default: false, help: 'show this help' },
};

const USAGE = [
  'Usage: npm run bench -- [options]   (npm run bench:layer: --scenarios layer --seconds 4 --connections 20 --warmup-seconds 1 --lead-in-seconds 0)',
  '',
  ...Object.entries(OPTIONS).map(([name, option]) => {
    const head = `  --${name} ${typeof option.default === 'number' ? '<n>' : (option.value ?? '')}`.padEnd(32);
    const shown = option.default === false || option.default === null ? '' : ` (default ${option.default})`;
    return `${head}${option.help}${shown}`;
  }),
].join('\n');

class UsageError extends Error {}

const SERVICE_SCENARIOS = ALL_SCENARIOS.filter((scenario) => scenario !== 'layer');

function parseOptions(argv: string[]): BenchOptions | 'help' | { report: string } {
  let values: Record<string, string | boolean | undefined>;
  try {
    const spec = Object.fromEntries(
      Object.entries(OPTIONS).map(([name, option]) => [name, { type: option.default === false ? 'boolean' : 'string' }] as const),
    );
    ({ values } = parseArgs({ args: argv, strict: true, options: spec }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  if (typeof values.report === 'string') return { report: values.report };
  const integer = (name: string) => {
    const [raw, { default: fallback, min = 1 }] = [values[name] as string | undefined, OPTIONS[name]!];
    if (raw === undefined) return fallback as number;
    if (!/^\d+$/.test(raw.trim()) || Number(raw) < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${raw}"`);
    return Number(raw);
  };
  const listOf = <T extends string>(name: 'scenarios' | 'adapters', choices: readonly T[], fallback: readonly T[]): T[] => {
    const names =
      (values[name] as string | undefined)
        ?.split(',')
        .map((entry) => entry.trim())
        .filter(Boolean) ?? fallback;
    const unknown = names.find((entry) => !(choices as readonly string[]).includes(entry));
    if (unknown !== undefined || names.length === 0)
      throw new UsageError(`--${name}: ${unknown ? `unknown "${unknown}"` : 'empty'}; choose from ${choices.join(', ')}`);
    return choices.filter((choice) => names.includes(choice));
  };
  const ref = (values.ref as string | undefined)?.trim() ?? null;
  if (ref === '') throw new UsageError('--ref is empty');
  return {
    seconds: integer('seconds'),
    connections: integer('connections'),
    scenarios: listOf('scenarios', ALL_SCENARIOS, SERVICE_SCENARIOS),
    adapters: listOf('adapters', HTTP_ADAPTERS, HTTP_ADAPTERS),
    ref,
    rounds: integer('rounds'),
    soakSeconds: integer('soak-seconds'),
    quick: values.quick === true,
    cpuProf: values['cpu-prof'] === true,
    warmupSeconds: integer('warmup-seconds'),
    leadInSeconds: integer('lead-in-seconds'),
    contentionRequests: integer('contention-requests'),
    build: values['no-build'] !== true,
  };
}

async function git(args: string[], cwd = ROOT): Promise<string | null> {
  const { code, stdout } = await runToExit('git', args, { cwd });
  return code === 0 ? stdout.trim() : null;
}

async function main(): Promise<number> {
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`error: ${error.message}\nRun with --help to see the options.`);
    return 2;
  }
  if (options === 'help') console.log(USAGE);
  else if ('report' in options) writeOutputs(JSON.parse(readFileSync(options.report, 'utf8')) as BenchResult);
  if (options === 'help' || 'report' in options) return 0;
  const refCommit = options.ref === null ? null : await git(['rev-parse', '--verify', '--quiet', `${options.ref}^{commit}`]);
  if (options.ref !== null && refCommit === null) {
    console.error(`error: --ref ${options.ref} names no commit of this repository`);
    return 2;
  }
  if (!hasRedisServerBinary) {
    console.error('error: the bench starts its own redis-server and none is installed (apt-get install redis-server)');
    return 1;
  }
  const interrupt = (signal: NodeJS.Signals) => {
    // Ctrl-C can arrive twice (from the terminal, and relayed by tsx): the handler stays, so the
    // process does not end before the clean-up, which runs once.
    log(`bench: ${signal}: stopping everything it started`);
    void stopEverything().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  mkdirSync(RESULTS_DIR, { recursive: true });

  const startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const stamp = startedAt.replace(/:/g, '-');
  const machine = {
    node: process.versions.node,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    loadAverageAtStart: loadavg().map((value) => round(value, 2)),
    redis: `Redis ${/v=(\S+)/.exec((await runToExit('redis-server', ['--version'])).stdout)?.[1] ?? '?'}`,
  };
  log(`bench: ${JSON.stringify(options)}; Node ${machine.node}, ${machine.cpus} CPUs, load average ${machine.loadAverageAtStart.join(' ')}`);
  try {
    const sides = sidesInRound(options);
    const rows = throughputRows(options);
    const servesService = sides.length > 0 || runsContention(options);
    if (options.build && servesService) await runStep('npm', ['run', 'build']);
    if (servesService && !existsSync(join(ROOT, 'dist', 'main.js'))) throw new Error('dist/main.js is missing: run without --no-build');
    if (options.ref !== null && sides.includes('ref')) await buildRef(options.ref);
    const context: Context = { options, stores: {}, processes: {}, floor: runsContention(options) ? await startFloor() : undefined };
    for (const side of sides) context.stores[side] = await startStore(`${sideName(side, options.ref)} side`, side !== 'ref');
    if (rows.some((row) => isLayerSide(row.side))) context.stores.layer = await startStore('layer sides', true);

    let checks: string[] = [];
    const runs: ThroughputRun[] = [];
    const contention: ContentionRun[] = [];
    for (let round_ = 1; round_ <= options.rounds; round_++) {
      log(`bench: ---- round ${round_} of ${options.rounds} ----`);
      // New processes every round: one that comes out slower for its whole life (JIT, heap layout,
      // where the scheduler puts it: up to 25 % here) then weighs one round of the median.
      for (const side of sides) context.processes[side] = await startSide(context, side, `r${round_}`);
      if (round_ === 1) checks = await sanityChecks(context);
      for (const side of sides) await warmUp(context, side, context.processes[side]!);
      for (const { scenario, side } of rows) runs.push(await runThroughput(context, scenario, side, round_));
      if (runsContention(options)) contention.push(await runContention(context, round_));
      for (const service of [...Object.values(context.processes), context.worker]) await service?.stop();
      context.processes = {};
      context.worker = undefined;
    }

    // The soak and the profiles run on processes of their own.
    const onDefaultAdapter = (scenario: 'fresh' | 'replay') => rows.some((row) => row.scenario === scenario && row.side === DEFAULT_ADAPTER);
    const soak = options.quick || !onDefaultAdapter('fresh') ? null : await runSoak(context);
    const profiles: ProfiledRun[] = [];
    if (options.cpuProf) {
      for (const scenario of ['fresh', 'replay'] as const) if (onDefaultAdapter(scenario)) profiles.push(await runProfile(context, stamp, scenario));
      if (options.scenarios.includes('baseline')) profiles.push(await runProfile(context, stamp, 'baseline'));
    }
    const measured = { options, soak, summary: { scenarios: summarizeScenarios(runs), contention: summarizeContention(contention) } };
    const dirty = await git(['status', '--porcelain']);
    writeOutputs({
      startedAt,
      machine,
      git: { commit: await git(['rev-parse', 'HEAD']), dirtyFiles: dirty === null ? null : dirty.split('\n').filter(Boolean).length, refCommit },
      checks,
      runs,
      contention,
      profiles,
      ...measured,
      targets: evaluateTargets(measured),
    });
    log(`bench: wrote bench/results/${stamp}.json and the tables in docs/performance.md`);
    return 0;
  } finally {
    await stopEverything();
  }
}

main().then(
  (code) => (process.exitCode = code),
  async (error: unknown) => {
    console.error('bench failed:', error instanceof Error ? error.message : error);
    for (const service of servicesStarted) {
      const tail = service.logs.trim().split('\n').slice(-15).join('\n    ');
      if (tail) console.error(`  last lines of ${service.name}:\n    ${tail}`);
    }
    await stopEverything();
    process.exitCode = 1;
  },
);
