/**
 * Measures processes side by side on one route: each side a process of its own, new every round,
 * the sides interleaved within a round, medians over rounds. Server CPU per request comes from
 * /proc (utime + stime over the measured window), so the load generator's work is not counted;
 * Redis round trips from the store's INFO commandstats. The runner of `npm run bench:layer`.
 */
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { median } from '../../tools/stats.js';
import { RedisServer } from '../../tools/process/index.js';

const CLOCK_TICKS_PER_SECOND = 100;
const REPLAY_KEYS = 2000;

export interface RunningSide {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export interface SideSpec {
  name: string;
  /** The side the CPU it adds is counted against (itself for a reference side). */
  reference: string;
  keys: 'fresh' | 'replay';
  start(redisUrl: string): Promise<RunningSide>;
}

export interface RequestSpec {
  path: string;
  body: string;
  headers: Record<string, string>;
}

export interface SideFigures {
  cpuMicrosPerRequest: number;
  requestsPerSecond: number;
  /** Script calls (EVALSHA, EVAL) per request: the idempotency layer's round trips. */
  redisScriptsPerRequest: number;
  /** Every Redis command per request, those scripts run inside included. */
  redisCommandsPerRequest: number;
  failures: number;
}

export interface SidesOptions {
  rounds: number;
  seconds: number;
  connections: number;
}

function cpuTicks(pid: number): number {
  // Fields 14 and 15 of /proc/<pid>/stat (after the parenthesised command name): utime, stime.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Script calls (EVALSHA, EVAL) and all commands, those that scripts run inside included. */
async function commandCounts(redis: Redis): Promise<{ scripts: number; commands: number }> {
  const info = await redis.info('commandstats');
  let scripts = 0;
  let commands = 0;
  for (const [, name, calls] of info.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)) {
    if (name === 'info' || name === 'flushall' || name === 'config|resetstat') continue;
    commands += Number(calls);
    if (name === 'evalsha' || name === 'eval') scripts += Number(calls);
  }
  return { scripts, commands };
}

function load(url: string, request: RequestSpec, seconds: number, connections: number, nextKey: () => string): Promise<autocannon.Result> {
  return autocannon({
    url: `${url}${request.path}`,
    connections,
    duration: seconds,
    requests: [{ method: 'POST', body: request.body, setupRequest: (sent) => ({ ...sent, headers: { ...request.headers, 'idempotency-key': nextKey() } }) }],
  });
}

async function measure(
  side: SideSpec,
  request: RequestSpec,
  options: SidesOptions,
  store: { url: string; client: Redis },
  round: number,
): Promise<SideFigures> {
  await store.client.flushall();
  const running = await side.start(store.url);
  try {
    const prefix = `${side.name.replaceAll(' ', '-')}-${round}-${Date.now()}`;
    let sent = 0;
    const fresh = () => `${prefix}-${sent++}`;
    const replay = () => `${prefix}-warm-${sent++ % REPLAY_KEYS}`;
    // Warm-up: the JIT, and for replays the stored outcomes they replay.
    await load(running.url, request, 1, options.connections, fresh);
    if (side.keys === 'replay') {
      sent = 0;
      const warm = () => `${prefix}-warm-${sent++}`;
      while (sent < REPLAY_KEYS) await load(running.url, request, 0.2, options.connections, warm);
    }
    await store.client.config('RESETSTAT');
    const ticksBefore = cpuTicks(running.pid);
    const result = await load(running.url, request, options.seconds, options.connections, side.keys === 'replay' ? replay : fresh);
    const ticks = cpuTicks(running.pid) - ticksBefore;
    const requests = Math.max(result.requests.total, 1);
    const { scripts, commands } = await commandCounts(store.client);
    return {
      cpuMicrosPerRequest: (ticks / CLOCK_TICKS_PER_SECOND / requests) * 1e6,
      requestsPerSecond: result.requests.total / options.seconds,
      redisScriptsPerRequest: scripts / requests,
      redisCommandsPerRequest: commands / requests,
      failures: result.errors + result.non2xx,
    };
  } finally {
    await running.stop();
  }
}

/** Every side `rounds` times, interleaved; progress on stderr. */
export async function runSides(sides: SideSpec[], request: RequestSpec, options: SidesOptions): Promise<Map<string, SideFigures[]>> {
  const server = await RedisServer.start();
  const client = new Redis(server.url);
  const runs = new Map<string, SideFigures[]>(sides.map((side) => [side.name, []]));
  try {
    for (let round = 1; round <= options.rounds; round++) {
      for (const side of sides) {
        process.stderr.write(`round ${round}/${options.rounds}: ${side.name} ... `);
        const figures = await measure(side, request, options, { url: server.url, client }, round);
        runs.get(side.name)!.push(figures);
        process.stderr.write(`${figures.cpuMicrosPerRequest.toFixed(0)} µs CPU/req, ${figures.requestsPerSecond.toFixed(0)} req/s\n`);
      }
    }
  } finally {
    client.disconnect();
    await server.stop();
  }
  return runs;
}

function medianFigure(runs: Map<string, SideFigures[]>, name: string, pick: (figures: SideFigures) => number): number {
  return median(runs.get(name)!.map(pick));
}

const cpuOf = (figures: SideFigures) => figures.cpuMicrosPerRequest;

/** Server CPU µs per request a side adds to its reference side: the difference of their medians. */
export function addedCpu(runs: Map<string, SideFigures[]>, name: string, reference: string): number {
  return medianFigure(runs, name, cpuOf) - medianFigure(runs, reference, cpuOf);
}

/** An added CPU figure as the tables write it: signed whole µs. */
export function formatAdded(micros: number): string {
  return `${micros >= 0 ? '+' : ''}${micros.toFixed(0)}`;
}

/** A Markdown table of medians: CPU per request, what it adds to (or its ratio against) its reference side. */
export function renderSides(title: string, sides: SideSpec[], runs: Map<string, SideFigures[]>, options: SidesOptions): string {
  const medianOf = (name: string, pick: (figures: SideFigures) => number) => medianFigure(runs, name, pick);
  const rows = sides.map((side) => {
    const cpu = medianOf(side.name, cpuOf);
    const referenceCpu = medianOf(side.reference, cpuOf);
    const rate = medianOf(side.name, (figures) => figures.requestsPerSecond);
    const referenceRate = medianOf(side.reference, (figures) => figures.requestsPerSecond);
    const added = side.reference === side.name ? '–' : formatAdded(cpu - referenceCpu);
    const failures = runs.get(side.name)!.reduce((sum, figures) => sum + figures.failures, 0);
    return `| ${side.name} | ${side.reference} | ${cpu.toFixed(0)} | ${added} | ${(cpu / referenceCpu).toFixed(2)} | ${rate.toFixed(0)} | ${(rate / referenceRate).toFixed(2)} | ${medianOf(side.name, (figures) => figures.redisScriptsPerRequest).toFixed(2)} | ${medianOf(side.name, (figures) => figures.redisCommandsPerRequest).toFixed(1)} | ${failures} |`;
  });
  return [
    `${title}: ${options.rounds} interleaved round(s) of ${options.seconds} s, ${options.connections} connections; medians over rounds.`,
    '',
    '| side | against | server CPU µs/req | added | × CPU | req/s | × req/s | Redis scripts/req | Redis commands/req | non-2xx or errors |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}
