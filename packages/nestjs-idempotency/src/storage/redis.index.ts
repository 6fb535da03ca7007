export { LuaScript, type RedisClient } from './lua-script.js';
export { RedisIdempotencyStore, type RedisIdempotencyStoreOptions } from './redis.store.js';
