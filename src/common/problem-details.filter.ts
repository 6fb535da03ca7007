import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { PROBLEM_CONTENT_TYPE, toProblem } from './problem.js';

/** Every error leaves the service as application/problem+json (RFC 9457), whatever threw it. */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
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
}
