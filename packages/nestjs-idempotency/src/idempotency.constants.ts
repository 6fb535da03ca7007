export const IDEMPOTENT_METADATA = 'IDEMPOTENCY:ROUTE_OPTIONS';
/** The options as given to forRoot / forRootAsync. */
export const IDEMPOTENCY_MODULE_OPTIONS = 'IDEMPOTENCY:MODULE_OPTIONS';
/** The options with every default filled in. */
export const IDEMPOTENCY_OPTIONS = 'IDEMPOTENCY:OPTIONS';

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const IDEMPOTENCY_CACHED_HEADER = 'Idempotency-Cached';
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';
