import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { nodeRequestOf, routePatternOf, type HttpRequest } from './http-request.js';

const UNMATCHED = 'unmatched';

/** Route labels by Node's request, which middleware, request logs and metrics see on both adapters. */
const labels = new WeakMap<object, string>();

/** The route pattern (e.g. /api/orders/:id) a request matched, for logs and metrics labels. */
export const routeLabelOf = (request: object): string => labels.get(request) ?? UNMATCHED;

/**
 * Records the matched route pattern while the handler runs: ids in paths would explode label
 * sets, and the pattern is only known once routed.
 */
@Injectable()
export class RouteLabelInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<HttpRequest>();
    labels.set(nodeRequestOf(request), routePatternOf(request) ?? UNMATCHED);
    return next.handle();
  }
}
