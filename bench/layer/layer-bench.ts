/**
 * `npm run bench:layer [-- --rounds 3 --seconds 4 --quick]`: what the idempotency layer alone costs.
 * A trivial POST route, bare and behind the layer, on Express and Fastify, with the memory and the
 * Redis store, fresh keys and replays, and a returning and a passthrough handler; each server its
 * own process (bench/layer/server.ts), new every round, the sides interleaved within a round.
 * Server CPU per request comes from /proc (utime + stime over the measured window), so the load
 * generator's own work is not counted. Prints a table of medians over the rounds and writes it
 * to bench/results/.
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, RedisServer } from '../../tools/process/index.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '4' },
    connections: { type: 'string', default: '20' },
    quick: { type: 'boolean', default: false },
  },
});
const ROUNDS = args.quick ? 1 : Number(args.rounds);
const SECONDS = args.quick ? 2 : Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const CLOCK_TICKS_PER_SECOND = 100;
const REPLAY_KEYS = 2000;
const BODY = JSON.stringify({ name: 'widget', quantity: 3, tags: ['a', 'b'] });

interface Side {
  name: string;
  adapter: 'express' | 'fastify';
  store: 'none' | 'memory' | 'redis';
  handler: 'returning' | 'passthrough';
  keys: 'fresh' | 'replay';
}

const SIDES: Side[] = (['express', 'fastify'] as const).flatMap((adapter) => [
  { name: `${adapter} bare`, adapter, store: 'none', handler: 'returning', keys: 'fresh' },
  { name: `${adapter} memory fresh`, adapter, store: 'memory', handler: 'returning', keys: 'fresh' },
  { name: `${adapter} memory replay`, adapter, store: 'memory', handler: 'returning', keys: 'replay' },
  { name: `${adapter} redis fresh`, adapter, store: 'redis', handler: 'returning', keys: 'fresh' },
  { name: `${adapter} redis replay`, adapter, store: 'redis', handler: 'returning', keys: 'replay' },
  { name: `${adapter} redis fresh passthrough`, adapter, store: 'redis', handler: 'passthrough', keys: 'fresh' },
]);

interface Measurement {
  cpuMicrosPerRequest: number;
  requestsPerSecond: number;
  redisRoundTripsPerRequest: number | null;
  errors: number;
}

function cpuTicks(pid: number): number {
  // Fields 14 and 15 of /proc/<pid>/stat (after the parenthesised command name): utime, stime.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function startServer(side: Side, redisUrl: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(import.meta.dirname, 'server.ts')], {
    env: { ...process.env, ADAPTER: side.adapter, STORE: side.store, HANDLER: side.handler, PORT: String(port), REDIS_URL: redisUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((ready, fail) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('listening') && ready());
    child.once('exit', (code) => fail(new Error(`${side.name}: server exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

function load(url: string, seconds: number, nextKey: () => string): Promise<autocannon.Result> {
  return autocannon({
    url: `${url}/items`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        body: BODY,
        setupRequest: (request) => ({ ...request, headers: { 'content-type': 'application/json', 'idempotency-key': nextKey() } }),
      },
    ],
  });
}

/** The layer sends only scripts, so its round trips are the EVALSHA (and, after a flush, EVAL) calls. */
async function scriptCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  return [...info.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+)/gm)].reduce((sum, [, , calls]) => sum + Number(calls), 0);
}

async function measure(side: Side, redisUrl: string, redis: Redis, round: number): Promise<Measurement> {
  const server = await startServer(side, redisUrl);
  try {
    const prefix = `${side.name.replaceAll(' ', '-')}-${round}-${Date.now()}`;
    let sent = 0;
    const fresh = () => `${prefix}-${sent++}`;
    const replay = () => `${prefix}-warm-${sent++ % REPLAY_KEYS}`;
    // Warm-up: the JIT, and for replays the stored outcomes they replay.
    await load(server.url, 1, fresh);
    if (side.keys === 'replay') {
      sent = 0;
      const warm = () => `${prefix}-warm-${sent++}`;
      while (sent < REPLAY_KEYS) await load(server.url, 0.2, warm);
    }
    const ticksBefore = cpuTicks(server.child.pid!);
    const callsBefore = side.store === 'redis' ? await scriptCalls(redis) : 0;
    const result = await load(server.url, SECONDS, side.keys === 'replay' ? replay : fresh);
    const ticks = cpuTicks(server.child.pid!) - ticksBefore;
    const requests = result.requests.total;
    const calls = side.store === 'redis' ? (await scriptCalls(redis)) - callsBefore : null;
    return {
      cpuMicrosPerRequest: (ticks / CLOCK_TICKS_PER_SECOND / requests) * 1e6,
      requestsPerSecond: requests / SECONDS,
      redisRoundTripsPerRequest: calls === null ? null : calls / requests,
      errors: result.errors + result.non2xx,
    };
  } finally {
    server.child.kill('SIGKILL');
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const redisServer = await RedisServer.start();
  const redis = new Redis(redisServer.url);
  const runs = new Map<string, Measurement[]>(SIDES.map((side) => [side.name, []]));
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const side of SIDES) {
        process.stderr.write(`round ${round}/${ROUNDS}: ${side.name} ... `);
        const measured = await measure(side, redisServer.url, redis, round);
        runs.get(side.name)!.push(measured);
        process.stderr.write(`${measured.cpuMicrosPerRequest.toFixed(0)} µs CPU/req, ${measured.requestsPerSecond.toFixed(0)} req/s\n`);
      }
    }
  } finally {
    redis.disconnect();
    await redisServer.stop();
  }
  const table = render(runs);
  console.log(table);
  const dir = resolve(import.meta.dirname, '../results');
  mkdirSync(dir, { recursive: true });
  const file = resolve(dir, `layer-${new Date().toISOString().replaceAll(':', '-').slice(0, 19)}Z.md`);
  writeFileSync(file, `${table}\n`);
  console.log(`\nwritten to ${file}`);
}

function render(runs: Map<string, Measurement[]>): string {
  const rows = SIDES.map((side) => {
    const measured = runs.get(side.name)!;
    const cpu = median(measured.map((run) => run.cpuMicrosPerRequest));
    const bare = median(runs.get(`${side.adapter} bare`)!.map((run) => run.cpuMicrosPerRequest));
    const bareRate = median(runs.get(`${side.adapter} bare`)!.map((run) => run.requestsPerSecond));
    const rate = median(measured.map((run) => run.requestsPerSecond));
    const commands = measured[0]!.redisRoundTripsPerRequest === null ? '–' : median(measured.map((run) => run.redisRoundTripsPerRequest!)).toFixed(2);
    const added = side.store === 'none' ? '–' : `${cpu - bare >= 0 ? '+' : ''}${(cpu - bare).toFixed(0)}`;
    const errors = measured.reduce((sum, run) => sum + run.errors, 0);
    return `| ${side.name} | ${cpu.toFixed(0)} | ${added} | ${rate.toFixed(0)} | ${(rate / bareRate).toFixed(2)} | ${commands} | ${errors} |`;
  });
  return [
    `Layer bench: ${ROUNDS} interleaved round(s) of ${SECONDS} s, ${CONNECTIONS} connections; medians over rounds.`,
    '',
    '| side | server CPU µs/req | added by the layer | req/s | × bare req/s | Redis round trips/req | non-2xx or errors |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}

await main();
