/**
 * Preloaded into a measured process (`node --import ./bench/probe.mjs …`, spawned with an IPC
 * channel): the bench's one way of counting store round trips. It changes nothing the process
 * does; it answers the bench's IPC messages:
 *
 *   { id, type: 'sample' } → cumulative figures (the bench diffs two): ELU, CPU µs (all threads),
 *       Redis round trips by command, socket writes to Redis, PostgreSQL statements by label, and
 *       CLOCK_MONOTONIC in µs (the clock of V8's CPU profiles, to cut a profile to the load window)
 *   { id, type: 'exit' }   → process.exit(0): a normal exit, so `--cpu-prof` writes its profile
 *
 * Redis round trips are what a request waits for, counted by wrapping ioredis'
 * `Redis.prototype.sendCommand`: one per command (a script call, EVALSHA, labelled with the name it
 * was defined under, e.g. `evalsha:acquireLock`, or by the families of its keys and its hash), one
 * per MULTI/EXEC block ("multi"). Auto-pipelined commands of concurrent requests share socket
 * writes, counted apart. PostgreSQL statements are counted by wrapping `pg`'s `Client.prototype.query`:
 * `pg` sends one per round trip. Both wrappers are a few increments per command, on every side.
 * When the bench goes away (the channel closes), the process exits.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';

const roundTrips = Object.create(null);
let writes = 0;
/** Per-flush stream object of a pipeline → whether it is a MULTI/EXEC transaction. */
const flushes = new WeakMap();
/** Script sha1 or source → the name it was defined under (defineCommand), or the label made of its keys: EVALSHA told apart by script. */
const scriptNames = new Map();

/**
 * The command's name; a script call as `evalsha:<name>` (or `eval:<name>`) where it was defined by
 * defineCommand, else as `evalsha:<its keys, ids and hash tags blanked>#<hash>`.
 */
function labelOf(client, command) {
  const name = command?.name ?? 'unknown';
  if (name !== 'evalsha' && name !== 'eval') return name;
  const script = command.args?.[0];
  let scriptName = scriptNames.get(script);
  if (scriptName === undefined) {
    for (const [defined, { sha, lua }] of Object.entries(client.scriptsSet ?? {})) {
      scriptNames.set(sha, defined);
      scriptNames.set(lua, defined);
    }
    scriptName = scriptNames.get(script) ?? `${scriptKeys(command.args).map(keyFamily).join(',')}#${shaOf(script)}`;
    // A script is always called on keys of the same families: its label is worked out once, not on every call.
    scriptNames.set(script, scriptName);
  }
  return `${name}:${scriptName}`;
}

/** EVAL/EVALSHA arguments: script, number of keys, keys…, arguments…. */
function scriptKeys(args = []) {
  return args.slice(2, 2 + Number(args[1] ?? 0));
}

/** `idempotency:{3fZ…}:response` → `idempotency:{}:response`; `orders:ord_12ab` → `orders:*`. */
function keyFamily(key) {
  return String(key)
    .replace(/\{[^}]*\}/g, '{}')
    .split(':')
    .map((part) => (/[0-9]/.test(part) && part !== '{}' ? '*' : part))
    .join(':');
}

function shaOf(script) {
  const text = String(script);
  return (/^[0-9a-f]{40}$/.test(text) ? text : createHash('sha1').update(text).digest('hex')).slice(0, 8);
}

try {
  // The same CommonJS module instance the service imports (ESM imports of CommonJS share require's cache).
  const { Redis } = createRequire(join(process.cwd(), 'package.json'))('ioredis');
  const sendCommand = Redis.prototype.sendCommand;
  Redis.prototype.sendCommand = function countedSendCommand(command, stream) {
    const name = labelOf(this, command);
    if (stream && typeof stream === 'object') {
      // A pipeline flush: ioredis passes each queued command with the same per-flush stream object
      // and writes them at once. An auto-pipelining flush carries commands of many requests, each
      // still awaited on its own (one round trip each); a MULTI/EXEC block is one round trip.
      let transaction = flushes.get(stream);
      if (transaction === undefined) {
        transaction = name === 'multi';
        flushes.set(stream, transaction);
        writes++;
        if (transaction) roundTrips.multi = (roundTrips.multi ?? 0) + 1;
      }
      if (!transaction) roundTrips[name] = (roundTrips[name] ?? 0) + 1;
    } else {
      writes++;
      roundTrips[name] = (roundTrips[name] ?? 0) + 1;
    }
    return sendCommand.call(this, command, stream);
  };
} catch (error) {
  console.error(`bench probe: could not instrument ioredis (${error?.message ?? error}); Redis round trips will be missing`);
}

const postgresStatements = Object.create(null);

/** A statement's label: its prepared name, a transaction keyword, or `text` (an unnamed statement). */
function statementLabel(config) {
  if (config && typeof config === 'object' && typeof config.name === 'string' && config.name) return config.name;
  const text = typeof config === 'string' ? config : String(config?.text ?? '');
  const keyword = /^\s*(BEGIN|COMMIT|ROLLBACK)\b/i.exec(text);
  return keyword ? keyword[1].toUpperCase() : 'text';
}

try {
  // The `pg` the service loads (a build from before PostgreSQL has none: then nothing is counted).
  const { Client } = createRequire(join(process.cwd(), 'package.json'))('pg');
  const query = Client.prototype.query;
  Client.prototype.query = function countedQuery(config, ...rest) {
    const label = statementLabel(config);
    postgresStatements[label] = (postgresStatements[label] ?? 0) + 1;
    return query.call(this, config, ...rest);
  };
} catch {
  // No pg in this build.
}

if (process.send) {
  process.on('message', (message) => {
    if (!message || typeof message !== 'object' || typeof message.id !== 'number') return;
    if (message.type === 'exit') {
      process.send({ id: message.id, type: 'exit' }, () => process.exit(0));
      return;
    }
    if (message.type === 'sample') {
      const elu = performance.eventLoopUtilization();
      const cpu = process.cpuUsage();
      process.send({
        id: message.id,
        type: 'sample',
        elu: { idle: elu.idle, active: elu.active },
        // CPU time of the whole process (all threads: GC helpers, libuv pool), µs: unlike ELU, not
        // inflated when other processes take the core away from a busy event loop.
        cpuUs: cpu.user + cpu.system,
        redis: { ...roundTrips },
        redisWrites: writes,
        postgres: { ...postgresStatements },
        monotonicUs: Number(process.hrtime.bigint() / 1000n),
      });
    }
  });
  // The channel must not keep the process alive on its own; its loss ends the process.
  process.channel?.unref();
  process.on('disconnect', () => process.exit(0));
}
