/**
 * Preloaded into a measured process (`node --import ./bench/probe.mjs …`, spawned with an IPC
 * channel). It changes nothing the process does; it counts and answers the bench's messages:
 * `sample` → cumulative figures (the bench diffs two), `exit` → process.exit(0), a normal exit, so
 * `--cpu-prof` writes its profile. When the bench goes away (the channel closes), the process exits.
 *
 * Redis round trips are counted by wrapping ioredis' `sendCommand`: one per command (a script call
 * labelled with the name it was defined under, else by the families of its keys and its hash), one
 * per MULTI/EXEC block; socket writes apart. PostgreSQL statements by wrapping `pg`'s
 * `Client.prototype.query`, which sends one per round trip.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

// The modules of the process's checkout (the `--ref` side runs this probe in its worktree): the same
// CommonJS instances the service imports.
const requireHere = createRequire(join(process.cwd(), 'package.json'));
const roundTrips = Object.create(null);
const postgresStatements = Object.create(null);
const count = (counts, label) => (counts[label] = (counts[label] ?? 0) + 1);
let writes = 0;
/** Per-flush stream object of a pipeline → whether it is a MULTI/EXEC transaction. */
const flushes = new WeakMap();
/** Script sha1 or source → its label, worked out once per script. */
const scriptNames = new Map();

/** `evalsha:acquireLock` for a script defined by defineCommand, else `evalsha:idempotency:{}:lock#1a2b3c4d`. */
function labelOf(client, { name = 'unknown', args = [] }) {
  if (name !== 'evalsha' && name !== 'eval') return name;
  const script = String(args[0]);
  if (!scriptNames.has(script)) {
    for (const [defined, { sha, lua }] of Object.entries(client.scriptsSet ?? {})) scriptNames.set(sha, defined).set(lua, defined);
  }
  if (!scriptNames.has(script)) {
    // Ids and hash tags blanked: `idempotency:{3fZ…}:lock` → `idempotency:{}:lock`, `orders:ord_12ab` → `orders:*`.
    const families = args.slice(2, 2 + Number(args[1] ?? 0)).map((key) =>
      String(key)
        .replace(/\{[^}]*\}/g, '{}')
        .replace(/(?<=^|:)[^:]*\d[^:]*(?=:|$)/g, '*'),
    );
    const sha = /^[0-9a-f]{40}$/.test(script) ? script : createHash('sha1').update(script).digest('hex');
    scriptNames.set(script, `${families.join(',')}#${sha.slice(0, 8)}`);
  }
  return `${name}:${scriptNames.get(script)}`;
}

try {
  const { Redis } = requireHere('ioredis');
  const sendCommand = Redis.prototype.sendCommand;
  Redis.prototype.sendCommand = function countedSendCommand(command, stream) {
    const name = labelOf(this, command ?? {});
    if (stream && typeof stream === 'object') {
      // A pipeline flush: every queued command comes with the same per-flush stream object. An
      // auto-pipelining flush carries commands of many requests, each awaited on its own (one round
      // trip each); a MULTI/EXEC block is one round trip.
      if (!flushes.has(stream)) {
        flushes.set(stream, name === 'multi');
        writes++;
        if (name === 'multi') count(roundTrips, 'multi');
      }
      if (!flushes.get(stream)) count(roundTrips, name);
    } else {
      writes++;
      count(roundTrips, name);
    }
    return sendCommand.call(this, command, stream);
  };
} catch (error) {
  console.error(`bench probe: could not instrument ioredis (${error?.message ?? error}); Redis round trips will be missing`);
}

try {
  const { Client } = requireHere('pg');
  const query = Client.prototype.query;
  Client.prototype.query = function countedQuery(config, ...rest) {
    // Its prepared name, a transaction keyword, or `text` (an unnamed statement).
    const text = typeof config === 'string' ? config : String(config?.text ?? '');
    count(postgresStatements, config?.name || /^\s*(BEGIN|COMMIT|ROLLBACK)\b/i.exec(text)?.[1].toUpperCase() || 'text');
    return query.call(this, config, ...rest);
  };
} catch {
  // A build from before PostgreSQL has no pg: nothing to count.
}

process.on('message', (message) => {
  if (message?.type === 'exit') process.send({ type: 'exit' }, () => process.exit(0));
  if (message?.type !== 'sample') return;
  const { idle, active } = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  process.send({
    elu: { idle, active },
    // The whole process (all threads: GC helpers, libuv pool), µs: unlike ELU, not inflated when
    // other processes take the core away from a busy event loop.
    cpuUs: cpu.user + cpu.system,
    redis: { ...roundTrips },
    redisWrites: writes,
    postgres: { ...postgresStatements },
    // CLOCK_MONOTONIC, the clock of V8's CPU profiles, to cut a profile to the load window.
    monotonicUs: Number(process.hrtime.bigint() / 1000n),
  });
});
// The channel must not keep the process alive on its own; its loss ends the process.
process.channel?.unref();
process.on('disconnect', () => process.exit(0));
