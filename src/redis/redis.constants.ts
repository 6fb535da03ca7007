/** The client for results, orders and the gateway ledger. */
export const REDIS_CLIENT = Symbol('REDIS:CLIENT');
/** The independent nodes of the Redlock quorum (the main client when none are configured). */
export const REDIS_LOCK_CLIENTS = Symbol('REDIS:LOCK_CLIENTS');
