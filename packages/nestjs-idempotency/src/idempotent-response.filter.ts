import { ArgumentsHost, Catch, ExceptionFilter, StreamableFile } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ServerResponse } from 'node:http';
import { IDEMPOTENCY_CACHED_HEADER, IDEMPOTENT_REPLAYED_HEADER } from './idempotency.constants.js';
import { IdempotentResponse } from './idempotency.exceptions.js';

function markReplay(setHeader: (name: string, value: string) => void): void {
  setHeader(IDEMPOTENCY_CACHED_HEADER, 'true');
  setHeader(IDEMPOTENT_REPLAYED_HEADER, 'true');
}

/** Express's response is Node's; Fastify's reply wraps it (`raw`) and sends as given. */
const isNodeResponse = (response: object): response is ServerResponse => typeof (response as Partial<ServerResponse>).writeHead === 'function';

/**
 * Sends an IdempotentResponse as it is: status, headers and body. Bound to each idempotent route
 * by `@Idempotent()`, so it comes before the app's own filters, and replays and the layer's
 * answers go out unchanged in any app, on any adapter.
 */
@Catch(IdempotentResponse)
export class IdempotentResponseFilter implements ExceptionFilter<IdempotentResponse> {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch({ wire, replay, binary }: IdempotentResponse, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<object>();
    const body = binary ? Buffer.from(wire.body, 'base64') : wire.body;
    if (isNodeResponse(response)) {
      // Express's res.send would add an ETag or a charset the stored response did not have: the bytes go out as stored.
      for (const name in wire.headers) response.setHeader(name, wire.headers[name]!);
      if (replay) markReplay((name, value) => response.setHeader(name, value));
      response.setHeader('content-length', Buffer.byteLength(body));
      response.writeHead(wire.status).end(body);
      return;
    }
    const adapter = this.adapterHost.httpAdapter;
    for (const name in wire.headers) adapter.setHeader(response, name, wire.headers[name]!);
    if (replay) markReplay((name, value) => void adapter.setHeader(response, name, value));
    // An empty body goes as none: Fastify would give '' a text/plain type the response did not have.
    adapter.reply(response, typeof body !== 'string' ? new StreamableFile(body) : body === '' ? undefined : body, wire.status);
  }
}
