import { parseCli, positiveInt, UsageError } from '../../scripts/lib/cli.js';
import { SOAK_FIRST_SECONDS } from '../scenarios/soak.js';
import { ALL_SCENARIOS, type BenchOptions, DEFAULT_ADAPTER, HTTP_ADAPTERS } from './types.js';

export const USAGE = `Usage: npm run bench -- [options]

  --seconds <n>              length of each measured run (default 10)
  --connections <n>          autocannon connections (default 50)
  --scenarios <list>         comma list of ${ALL_SCENARIOS.join(',')} (default all)
  --adapters <list>          comma list of ${HTTP_ADAPTERS.join(',')}: the adapters the service is measured on,
                             fresh and replay on each (default both); the baseline, mixed, contention,
                             the soak and the profiles run on the default adapter, ${DEFAULT_ADAPTER}
  --ref <git ref>            also measure the service as it was at this ref (fresh and replay), built in a
                             temporary git worktree (npm ci, npm run build; removed at the end), with
                             ratios to it from the same round; issue 14's targets: --ref 06c35d8
  --rounds <n>               interleaved rounds: every scenario on every side, then again (default 3)
  --soak-seconds <n>         memory check: RSS after 10 s vs after n s of fresh keys (default 60)
  --quick                    skip the soak
  --cpu-prof                 also profile fresh and replay (default adapter), and the baseline to compare,
                             with node --cpu-prof on processes of their own; .cpuprofile files in bench/results/
  --warmup-seconds <n>       unmeasured load on each new service process (every round starts new ones) (default 3)
  --lead-in-seconds <n>      unmeasured load of the same scenario right before each measured run (default 2)
  --contention-requests <n>  requests in the contention burst (default 1000); the same burst, and the
                             same steady load, also go to a bare node:http server answering a fixed
                             409 (bench/floor-server.mjs): the floor of this machine and client
  --no-build                 use dist/ as it is instead of running \`npm run build\`
  --report <results.json>    measure nothing: redraw the chart and the README table from a results file
  --help                     show this help

Exit codes: 0 measured (failed targets are printed, not an error), 1 the bench failed, 2 bad arguments.`;

export function parseOptions(argv: string[]): BenchOptions | 'help' | { report: string } {
  const values = parseCli(argv, {
    seconds: { type: 'string' },
    connections: { type: 'string' },
    scenarios: { type: 'string' },
    rounds: { type: 'string' },
    'soak-seconds': { type: 'string' },
    quick: { type: 'boolean' },
    'cpu-prof': { type: 'boolean' },
    'warmup-seconds': { type: 'string' },
    'lead-in-seconds': { type: 'string' },
    'contention-requests': { type: 'string' },
    'no-build': { type: 'boolean' },
    adapters: { type: 'string' },
    ref: { type: 'string' },
    report: { type: 'string' },
    help: { type: 'boolean' },
  });
  if (values.help) return 'help';
  if (values.report !== undefined) return { report: values.report };
  const scenarios = listOf('--scenarios', values.scenarios, ALL_SCENARIOS);
  const adapters = listOf('--adapters', values.adapters, HTTP_ADAPTERS);
  const ref = values.ref?.trim();
  if (ref === '') throw new UsageError('--ref is empty');
  const soakSeconds = positiveInt('--soak-seconds', values['soak-seconds'], 60);
  if (soakSeconds <= SOAK_FIRST_SECONDS) throw new UsageError(`--soak-seconds must be more than ${SOAK_FIRST_SECONDS}`);
  return {
    seconds: positiveInt('--seconds', values.seconds, 10),
    connections: positiveInt('--connections', values.connections, 50),
    scenarios,
    rounds: positiveInt('--rounds', values.rounds, 3),
    soakSeconds,
    quick: values.quick ?? false,
    cpuProf: values['cpu-prof'] ?? false,
    warmupSeconds: nonNegativeInt('--warmup-seconds', values['warmup-seconds'], 3),
    leadInSeconds: nonNegativeInt('--lead-in-seconds', values['lead-in-seconds'], 2),
    contentionRequests: positiveInt('--contention-requests', values['contention-requests'], 1000),
    build: !(values['no-build'] ?? false),
    adapters,
    ref: ref ?? null,
  };
}

/** A comma list of names from `choices` (all of them when not given), in the order of `choices`. */
function listOf<T extends string>(option: string, raw: string | undefined, choices: readonly T[]): T[] {
  const names = (raw ?? choices.join(','))
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!(choices as readonly string[]).includes(name)) throw new UsageError(`${option}: unknown "${name}"; choose from ${choices.join(', ')}`);
  }
  if (names.length === 0) throw new UsageError(`${option} is empty`);
  return choices.filter((name) => names.includes(name));
}

function nonNegativeInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(Number(raw))) throw new UsageError(`${name} must be an integer, got "${raw}"`);
  return Number(raw);
}
