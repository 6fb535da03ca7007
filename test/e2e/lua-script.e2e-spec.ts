import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import { loadAppConfig } from '../../src/config/index.js';
import { createRedisClient } from '../../src/redis/redis-client.factory.js';
import { LuaScript } from '../../src/redis/index.js';
import { startRedis } from '../support/redis.js';

const INCREMENT_BY_LUA = `return redis.call('INCRBY', KEYS[1], ARGV[1])`;
const INCREMENT_BY = new LuaScript<number>(INCREMENT_BY_LUA);
const FAIL = new LuaScript<never>(`return redis.error_reply('REFUSED by the script')`);

/** Our scripts are plain EVALSHA commands inside the service's auto-pipelining client. */
describe('LuaScript on the service client', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let client: Redis;

  beforeAll(async () => {
    redis = await startRedis();
    client = await createRedisClient(redis.url, loadAppConfig({ NODE_ENV: 'test', REDIS_URL: redis.url }), 'lua-script-test');
  });
  afterAll(async () => {
    await client.quit();
    await redis.stop();
  });

  it('runs a script Redis has never seen, which caches it for the next calls by hash', async () => {
    const sha = createHash('sha1').update(INCREMENT_BY_LUA).digest('hex');
    await client.script('FLUSH');
    expect(await client.script('EXISTS', sha)).toEqual([0]);
    expect(await INCREMENT_BY.run(client, ['lua:first'], [5])).toBe(5);
    expect(await client.script('EXISTS', sha)).toEqual([1]);
    expect(await INCREMENT_BY.run(client, ['lua:first'], [5])).toBe(10);
  });

  it('runs again after Redis forgot its scripts (a restart without persistence, SCRIPT FLUSH)', async () => {
    expect(await INCREMENT_BY.run(client, ['lua:flushed'], [1])).toBe(1);
    await client.script('FLUSH');
    expect(await INCREMENT_BY.run(client, ['lua:flushed'], [1])).toBe(2);
  });

  it('gives each of 500 concurrent calls, mixed with plain commands in the same auto-pipelines, its own reply', async () => {
    const calls = Array.from({ length: 500 }, (_, index) =>
      index % 2 === 0 ? INCREMENT_BY.run(client, [`lua:mixed:${index}`], [index + 1]) : client.set(`lua:plain:${index}`, String(index)).then(() => 'OK'),
    );
    const replies = await Promise.all(calls);
    replies.forEach((reply, index) => expect(reply).toBe(index % 2 === 0 ? index + 1 : 'OK'));
  });

  it('passes a script error to the caller as it is', async () => {
    await expect(FAIL.run(client, ['lua:error'])).rejects.toThrow('REFUSED by the script');
  });
});
