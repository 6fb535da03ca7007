import type { ExecutionContext } from '@nestjs/common';
import type { IdempotencyReport } from '@idempotent-payments/nestjs-idempotency';
import { nodeRequestOf, type HttpRequest } from '../http/http-request.js';

/** Reports by Node's request, which both adapters' middleware, request logs and metrics see. */
const reports = new WeakMap<object, IdempotencyReport>();

/** The idempotency layer's onOutcome: kept until the response is finished, when logs and metrics read it. */
export function keepIdempotencyReport(report: IdempotencyReport, context: ExecutionContext): void {
  // Messages have no request to log or measure by.
  if (context.getType() !== 'http') return;
  reports.set(nodeRequestOf(context.switchToHttp().getRequest<HttpRequest>()), report);
}

export const idempotencyReportOf = (request: object): IdempotencyReport | undefined => reports.get(request);
