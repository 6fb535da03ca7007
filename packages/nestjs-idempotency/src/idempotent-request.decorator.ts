import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { IdempotencyContext } from './idempotency-scope.js';

export const IDEMPOTENCY_CONTEXT = Symbol('IDEMPOTENCY:CONTEXT');

export interface RequestWithIdempotency {
  [IDEMPOTENCY_CONTEXT]?: IdempotencyContext;
}

/** The key and scope of the running idempotent request, e.g. to derive a downstream key from it. */
export const IdempotentRequest = createParamDecorator((_: unknown, context: ExecutionContext) => {
  const idempotency = context.switchToHttp().getRequest<RequestWithIdempotency>()[IDEMPOTENCY_CONTEXT];
  if (!idempotency) throw new Error('@IdempotentRequest() is only available on routes marked @Idempotent() and called with an Idempotency-Key');
  return idempotency;
});
