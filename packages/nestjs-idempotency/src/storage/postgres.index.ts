export { PostgresIdempotencyStore, type PostgresIdempotencyStoreOptions } from './postgres.store.js';
