import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ServerResponse } from 'node:http';
import { PROBLEM_CONTENT_TYPE, toProblem } from './problem.js';

/** Writes a problem on Node's response, for middleware that answers before any route (both adapters give it Node's). */
export function sendProblem(response: ServerResponse, exception: unknown): void {
  const { problem, headers } = toProblem(exception);
  if (response.headersSent) {
    response.end();
    return;
  }
  const body = JSON.stringify(problem);
  response.writeHead(problem.status, { ...headers, 'Content-Type': PROBLEM_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) });
  response.end(body);
}

/** Every error leaves the service as a problem document, whatever threw it, on either adapter. */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const adapter = this.adapterHost.httpAdapter;
    const response: unknown = host.switchToHttp().getResponse();
    const { problem, headers } = toProblem(exception);
    if (adapter.isHeadersSent(response)) {
      adapter.end(response);
      return;
    }
    for (const [name, value] of Object.entries(headers)) adapter.setHeader(response, name, value);
    adapter.setHeader(response, 'Content-Type', PROBLEM_CONTENT_TYPE);
    adapter.reply(response, JSON.stringify(problem), problem.status);
  }
}
