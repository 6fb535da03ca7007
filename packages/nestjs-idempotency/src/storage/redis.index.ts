export { LuaScript, type RedisClient } from './lua-script.js';
export { recordKeys, RedisIdempotencyStore, type RecordKeys, type RedisIdempotencyStoreOptions } from './redis.store.js';
