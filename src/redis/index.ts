export { LuaScript } from '@idempotent-payments/nestjs-idempotency/redis';
export { REDIS_CLIENT, REDIS_LOCK_CLIENTS, type RedisClient } from './redis.constants.js';
export { RedisModule } from './redis.module.js';
