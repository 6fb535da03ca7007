import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/** A client the user owns: one Redis, or a Cluster. */
export type RedisClient = Redis | Cluster;

/**
 * A Lua script sent as a plain EVALSHA command. On a standalone Redis, plain commands join
 * ioredis' auto-pipelines, so a script shares socket writes with the commands of concurrent
 * requests; the commands that ioredis' defineCommand creates cannot join them safely (with them,
 * auto-pipelining crashed the process: ioredis issue #1931). A Redis that does not know the script
 * (restarted, SCRIPT FLUSH) answers NOSCRIPT, and one EVAL then runs it and caches it again.
 */
export class LuaScript<Result> {
  private readonly sha: string;

  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(client: RedisClient, keys: string[], args: Array<string | number> = []): Promise<Result> {
    try {
      return (await client.evalsha(this.sha, keys.length, ...keys, ...args)) as Result;
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return (await client.eval(this.lua, keys.length, ...keys, ...args)) as Result;
    }
  }
}
