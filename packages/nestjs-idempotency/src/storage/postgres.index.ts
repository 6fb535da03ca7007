export { inTransaction } from './postgres-transaction.js';
export { PostgresIdempotencyStore, type PostgresIdempotencyStoreOptions } from './postgres.store.js';
