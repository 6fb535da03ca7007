export { REDIS_CLIENT, REDIS_LOCK_CLIENTS } from './redis.constants.js';
export { RedisModule } from './redis.module.js';
