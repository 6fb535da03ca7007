import type { ThrottlerStorage } from '@nestjs/throttler';
import { fromStore } from '../common/store-unavailable.js';
import type { RedisClient } from '../redis/index.js';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * One round trip per request: count the hit, start the window on the first one, and block the
 * tracker for `blockDuration` once it is over the limit. Both keys share a hash tag (Cluster).
 */
const HIT_SCRIPT = `
local blockedFor = redis.call('PTTL', KEYS[2])
if blockedFor > 0 then
  return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('PTTL', KEYS[1]), 1, blockedFor}
end
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local windowLeft = redis.call('PTTL', KEYS[1])
if hits > tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  return {hits, windowLeft, 1, tonumber(ARGV[3])}
end
return {hits, windowLeft, 0, 0}
`;

/**
 * @nestjs/throttler's storage in Redis, so every instance counts the same hits. Written here
 * because the published Redis storages declare peer ranges that stop before NestJS 12.
 */
export class RedisThrottlerStorage implements ThrottlerStorage {
  constructor(private readonly redis: RedisClient) {}

  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    const tag = `rate-limit:{${throttlerName}:${key}}`;
    const [totalHits, windowLeftMs, blocked, blockLeftMs] = (await fromStore(
      this.redis.eval(HIT_SCRIPT, 2, `${tag}:hits`, `${tag}:blocked`, ttl, limit, blockDuration),
    )) as [number, number, number, number];
    // The throttler reports and sends these in seconds (Retry-After).
    return {
      totalHits,
      timeToExpire: Math.ceil(Math.max(windowLeftMs, 0) / 1000),
      isBlocked: blocked === 1,
      timeToBlockExpire: Math.ceil(blockLeftMs / 1000),
    };
  }
}
