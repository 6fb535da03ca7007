/**
 * `npm run bench:layer [-- --rounds 3 --seconds 4 --quick]`: what the idempotency layer alone
 * costs, and what a peer package costs in the same run. A trivial POST route, bare and behind the
 * layer, on Express and Fastify, with the memory and the Redis store, fresh keys and replays, and
 * a returning and a passthrough handler; and behind the peer `@node-idempotency/nestjs` with its
 * Redis adapter, fresh keys and replays (bench/layer/server.ts). Prints a table of medians and
 * one of ours against the peer, and writes them to bench/results/.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, ManagedProcess, TestDatabase, waitFor } from '../../tools/process/index.js';
import { addedCpu, formatAdded, renderSides, runSides, type SideFigures, type SideSpec } from './run-sides.js';
import { writeResult } from './write-result.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '4' },
    connections: { type: 'string', default: '20' },
    quick: { type: 'boolean', default: false },
  },
});
const options = { rounds: args.quick ? 1 : Number(args.rounds), seconds: args.quick ? 2 : Number(args.seconds), connections: Number(args.connections) };

const ADAPTERS = ['express', 'fastify'] as const;
type Adapter = (typeof ADAPTERS)[number];

interface Variant {
  layer: 'ours' | 'peer';
  store: 'none' | 'memory' | 'redis' | 'postgres' | 'tiered';
  handler: 'returning' | 'passthrough';
}

function layerServer(adapter: Adapter, { layer, store, handler }: Variant): SideSpec['start'] {
  return async (redisUrl) => {
    const port = await freePort();
    // tsx's ESM loader only: its CommonJS hook would give the peer's require('@nestjs/core') a
    // copy of NestJS of its own (NestJS 12 is ESM-only), whose Reflector the app cannot inject.
    const server = ManagedProcess.spawn(process.execPath, ['--import', 'tsx/esm', resolve(import.meta.dirname, 'server.ts')], {
      name: `layer ${adapter} ${layer} ${store} ${handler}`,
      env: {
        ...process.env,
        ADAPTER: adapter,
        LAYER: layer,
        STORE: store,
        HANDLER: handler,
        PORT: String(port),
        REDIS_URL: redisUrl,
        DATABASE_URL: databaseUrl,
      },
    });
    const url = `http://127.0.0.1:${port}`;
    await waitFor(`the ${adapter} layer server answers`, () => fetch(url).then(() => true), { timeoutMs: 30_000, process: server });
    return { url, pid: server.child.pid!, stop: async () => void (await server.crash()) };
  };
}

const sideName = (adapter: Adapter, name: string) => `${adapter} ${name}`;

const sides: SideSpec[] = ADAPTERS.flatMap((adapter) => {
  const bare = sideName(adapter, 'bare');
  const side = (name: string, keys: 'fresh' | 'replay', variant: Partial<Variant>): SideSpec => ({
    name: sideName(adapter, name),
    reference: bare,
    keys,
    start: layerServer(adapter, { layer: 'ours', store: 'redis', handler: 'returning', ...variant }),
  });
  return [
    side('bare', 'fresh', { store: 'none' }),
    side('memory fresh', 'fresh', { store: 'memory' }),
    side('memory replay', 'replay', { store: 'memory' }),
    side('redis fresh', 'fresh', {}),
    side('redis replay', 'replay', {}),
    side('redis fresh passthrough', 'fresh', { handler: 'passthrough' }),
    side('peer redis fresh', 'fresh', { layer: 'peer' }),
    side('peer redis replay', 'replay', { layer: 'peer' }),
    // The durable stores on the service's adapter only, to keep the run's length.
    ...(adapter === 'fastify'
      ? [
          side('postgres fresh', 'fresh', { store: 'postgres' }),
          side('postgres replay', 'replay', { store: 'postgres' }),
          side('tiered fresh', 'fresh', { store: 'tiered' }),
          side('tiered replay', 'replay', { store: 'tiered' }),
        ]
      : []),
  ];
});

const PEER_VERSION = (JSON.parse(readFileSync(createRequire(import.meta.url).resolve('@node-idempotency/nestjs/package.json'), 'utf8')) as { version: string })
  .version;

/** Per adapter, the CPU our Redis layer and the peer add over bare, fresh and replay, and their ratio. */
function renderVersusPeer(runs: Map<string, SideFigures[]>): string {
  const added = (adapter: Adapter, name: string) => addedCpu(runs, sideName(adapter, name), sideName(adapter, 'bare'));
  const rows = ADAPTERS.map((adapter) => {
    const cells = (['fresh', 'replay'] as const).flatMap((keys) => {
      const ours = added(adapter, `redis ${keys}`);
      const peer = added(adapter, `peer redis ${keys}`);
      return [formatAdded(ours), formatAdded(peer), peer > 0 ? (ours / peer).toFixed(2) : '–'];
    });
    return `| ${adapter} | ${cells.join(' | ')} |`;
  });
  return [
    `Ours against the peer (\`@node-idempotency/nestjs\` ${PEER_VERSION}, its Redis adapter): server CPU µs per request added over bare, medians; ours ÷ peer below 1 means ours costs less.`,
    '',
    '| adapter | ours fresh | peer fresh | ours ÷ peer, fresh | ours replay | peer replay | ours ÷ peer, replay |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}

const request = { path: '/items', body: JSON.stringify({ name: 'widget', quantity: 3, tags: ['a', 'b'] }), headers: { 'content-type': 'application/json' } };
// The PostgreSQL and tiered sides' records, in a database of the run's own on the shared server, dropped at the end.
const database = await TestDatabase.create();
const { host, port, user, database: name } = database.connection;
const databaseUrl = `postgres://${encodeURIComponent(user)}@${host}:${port}/${name}`;
let runs: Map<string, SideFigures[]>;
try {
  runs = await runSides(sides, request, options);
} finally {
  await database.drop();
}
const report = `${renderSides('Layer bench', sides, runs, options)}\n\n${renderVersusPeer(runs)}`;
console.log(report);
console.log(`\nwritten to ${writeResult('layer', report)}`);
