import { ArgumentsHost, Catch, ExceptionFilter, StreamableFile } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { IdempotentResponse } from './idempotency.exceptions.js';

/**
 * Sends an IdempotentResponse as it is: status, headers and body. Bound to each idempotent route
 * by `@Idempotent()`, so it comes before the app's own filters, and replays and the layer's
 * answers go out unchanged in any app, on any adapter.
 */
@Catch(IdempotentResponse)
export class IdempotentResponseFilter implements ExceptionFilter<IdempotentResponse> {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch({ wire, binary }: IdempotentResponse, host: ArgumentsHost): void {
    const adapter = this.adapterHost.httpAdapter;
    const response: unknown = host.switchToHttp().getResponse();
    for (const name in wire.headers) adapter.setHeader(response, name, wire.headers[name]!);
    adapter.reply(response, binary ? new StreamableFile(Buffer.from(wire.body, 'base64')) : wire.body, wire.status);
  }
}
