import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { IdempotentResponse } from './idempotency.exceptions.js';

/**
 * Sends an IdempotentResponse as it is: status, headers and body text. Bound to each idempotent
 * route by `@Idempotent()`, so it comes before the app's own filters, and the layer's answers
 * are the same problem documents in any app, on any adapter.
 */
@Catch(IdempotentResponse)
export class IdempotentResponseFilter implements ExceptionFilter<IdempotentResponse> {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch({ wire }: IdempotentResponse, host: ArgumentsHost): void {
    const adapter = this.adapterHost.httpAdapter;
    const response: unknown = host.switchToHttp().getResponse();
    for (const name in wire.headers) adapter.setHeader(response, name, wire.headers[name]!);
    adapter.reply(response, wire.body, wire.status);
  }
}
