/**
 * `npm run bench:sides [-- --ref 06c35d8] [--rounds 3 --seconds 4 --quick]`: the service's cost per
 * charge on each adapter, and, with --ref, the service as it was at a git ref (built in a
 * temporary worktree) as one more side of the same run, so a gain is a ratio from one run. Fresh
 * keys and replays on POST /api/payments/charge; the built service (dist/) of this checkout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runToExit, ServiceProcess } from '../../tools/process/index.js';
import { ROOT } from '../lib/paths.js';
import { renderSides, runSides, type SideSpec } from './run-sides.js';
import { writeResult } from './write-result.js';

const { values: args } = parseArgs({
  options: {
    ref: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '4' },
    connections: { type: 'string', default: '20' },
    quick: { type: 'boolean', default: false },
  },
});
const options = { rounds: args.quick ? 1 : Number(args.rounds), seconds: args.quick ? 2 : Number(args.seconds), connections: Number(args.connections) };
const API_KEY = 'sk_bench_sides_0123456789';

async function run(command: string, commandArgs: string[], cwd: string): Promise<void> {
  process.stderr.write(`bench: ${command} ${commandArgs.join(' ')} (in ${cwd})\n`);
  const { code, stderr } = await runToExit(command, commandArgs, { cwd, env: process.env });
  if (code !== 0) throw new Error(`${command} ${commandArgs.join(' ')} failed in ${cwd}:\n${stderr}`);
}

/** The ref's service, built in a worktree of its own. */
async function buildRef(ref: string): Promise<string> {
  const dir = join(mkdtempSync(join(tmpdir(), 'bench-ref-')), 'checkout');
  await run('git', ['worktree', 'add', '--detach', dir, ref], ROOT);
  await run('npm', ['ci', '--no-audit', '--no-fund'], dir);
  await run('npm', ['run', 'build'], dir);
  return dir;
}

/** As deployed (production), without the mock gateway's webhook deliveries, which would load the process beside the charges. */
function service(cwd: string, env: Record<string, string>): SideSpec['start'] {
  return async (redisUrl) => {
    const started = await ServiceProcess.start(
      {
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        API_KEYS: `bench:${API_KEY}`,
        WEBHOOK_DELIVERY: 'false',
        RATE_LIMIT_MAX: '0',
        SHUTDOWN_DRAIN_MS: '0',
        REDIS_URL: redisUrl,
        ...env,
      },
      { cwd },
    );
    return { url: started.baseUrl, pid: started.pid!, stop: () => started.crash() };
  };
}

const refDir = args.ref ? await buildRef(args.ref) : undefined;
try {
  const kinds = ['fresh', 'replay'] as const;
  const reference = (keys: string) => (refDir ? `ref ${args.ref} ${keys}` : `express ${keys}`);
  const sides: SideSpec[] = [
    ...(refDir ? kinds.map((keys) => ({ name: reference(keys), reference: reference(keys), keys, start: service(refDir, {}) })) : []),
    ...(['fastify', 'express'] as const).flatMap((adapter) =>
      kinds.map((keys) => ({ name: `${adapter} ${keys}`, reference: reference(keys), keys, start: service(ROOT, { HTTP_ADAPTER: adapter }) })),
    ),
  ];
  const body = JSON.stringify({ amount: 1999, currency: 'EUR', customerId: 'cus_bench' });
  const request = { path: '/api/payments/charge', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` } };
  const table = renderSides('Service by side', sides, await runSides(sides, request, options), options);
  console.log(table);
  console.log(`\nwritten to ${writeResult('sides', table)}`);
} finally {
  if (refDir) {
    await run('git', ['worktree', 'remove', '--force', refDir], ROOT);
    rmSync(join(refDir, '..'), { recursive: true, force: true });
  }
}
