import { ArgumentsHost, Catch, ExceptionFilter, NotFoundException } from '@nestjs/common';
import type { Request, Response } from 'express';
import { PROBLEM_CONTENT_TYPE, toProblem } from './problem.js';

/** Writes anything thrown as application/problem+json (RFC 9457). */
export function sendProblem(response: Response, exception: unknown): void {
  const { problem, headers } = toProblem(exception);
  if (response.headersSent) {
    response.end();
    return;
  }
  response
    .status(problem.status)
    .set({ ...headers, 'Content-Type': PROBLEM_CONTENT_TYPE })
    .send(JSON.stringify(problem));
}

/** Every error leaves the service as a problem document, whatever threw it. */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    sendProblem(host.switchToHttp().getResponse<Response>(), exception);
  }
}

/**
 * NestJS answers unknown routes under the global prefix itself; this answers the rest (e.g. `/`)
 * the same way, instead of Express's HTML page. Mounted after every route.
 */
export function notFoundFallback(request: Request, response: Response): void {
  sendProblem(response, new NotFoundException(`Cannot ${request.method} ${request.path}`));
}
