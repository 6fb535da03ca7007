export { RedlockIdempotencyStore } from './redlock.store.js';
