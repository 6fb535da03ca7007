/**
 * `npm run bench:layer [-- --rounds 3 --seconds 4 --quick]`: what the idempotency layer alone
 * costs. A trivial POST route, bare and behind the layer, on Express and Fastify, with the memory
 * and the Redis store, fresh keys and replays, and a returning and a passthrough handler
 * (bench/layer/server.ts). Prints a table of medians and writes it to bench/results/.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, ManagedProcess, waitForReady } from '../../tools/process/index.js';
import { renderSides, runSides, type SideSpec } from './run-sides.js';
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

type Store = 'none' | 'memory' | 'redis';

function layerServer(adapter: string, store: Store, handler: 'returning' | 'passthrough'): SideSpec['start'] {
  return async (redisUrl) => {
    const port = await freePort();
    const server = ManagedProcess.spawn(process.execPath, ['--import', 'tsx', resolve(import.meta.dirname, 'server.ts')], {
      name: `layer ${adapter} ${store} ${handler}`,
      env: { ...process.env, ADAPTER: adapter, STORE: store, HANDLER: handler, PORT: String(port), REDIS_URL: redisUrl },
    });
    const url = `http://127.0.0.1:${port}`;
    await waitForReady(`the ${adapter} layer server`, () => fetch(url).then(() => true), { timeoutMs: 30_000, process: server });
    return { url, pid: server.child.pid!, stop: async () => void (await server.crash()) };
  };
}

const sides: SideSpec[] = ['express', 'fastify'].flatMap((adapter) => {
  const bare = `${adapter} bare`;
  const side = (name: string, store: Store, keys: 'fresh' | 'replay', handler: 'returning' | 'passthrough' = 'returning'): SideSpec => ({
    name: `${adapter} ${name}`,
    reference: bare,
    keys,
    start: layerServer(adapter, store, handler),
  });
  return [
    { name: bare, reference: bare, keys: 'fresh' as const, start: layerServer(adapter, 'none', 'returning') },
    side('memory fresh', 'memory', 'fresh'),
    side('memory replay', 'memory', 'replay'),
    side('redis fresh', 'redis', 'fresh'),
    side('redis replay', 'redis', 'replay'),
    side('redis fresh passthrough', 'redis', 'fresh', 'passthrough'),
  ];
});

const request = { path: '/items', body: JSON.stringify({ name: 'widget', quantity: 3, tags: ['a', 'b'] }), headers: { 'content-type': 'application/json' } };
const table = renderSides('Layer bench', sides, await runSides(sides, request, options), options);
console.log(table);
console.log(`\nwritten to ${writeResult('layer', table)}`);
