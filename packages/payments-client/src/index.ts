export { PaymentsClient, type Charge, type ChargeOptions, type ChargeRequest, type ChargeResult, type PaymentsClientOptions } from './payments-client.js';
export { IdempotencyKeyReusedError, PaymentError, PaymentNotSettledError, PaymentRejectedError, type Problem } from './errors.js';
export { createPaymentsApi, type PaymentsApi, type PaymentsApiOptions } from './api.js';
export { delayBeforeRetry, isRetryable, parseRetryAfter, type Backoff } from './retry-policy.js';
export type { components, operations, paths } from './schema.js';
