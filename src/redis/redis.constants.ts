import type { Cluster, Redis } from 'ioredis';

/** A standalone client, or a Cluster client when REDIS_CLUSTER_NODES is set: the code uses either. */
export type RedisClient = Redis | Cluster;

/** The client for the idempotency locks, the hot copy of stored outcomes and the rate limits. */
export const REDIS_CLIENT = Symbol('REDIS:CLIENT');
/** The independent nodes of the Redlock quorum (the main client when none are configured). */
export const REDIS_LOCK_CLIENTS = Symbol('REDIS:LOCK_CLIENTS');
