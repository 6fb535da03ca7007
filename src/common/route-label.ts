import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Observable } from 'rxjs';

const UNMATCHED = 'unmatched';

/** The route pattern (e.g. /api/orders/:id) a response answered, for logs and metrics labels. */
export const routeLabelOf = (response: Response): string => (response.locals as { route?: string }).route ?? UNMATCHED;

/**
 * Records the matched route pattern while the handler runs: Express's `req.route` can be replaced
 * by later layers before the response is finished, and ids in paths would explode label sets.
 */
@Injectable()
export class RouteLabelInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<Request>();
    (context.switchToHttp().getResponse<Response>().locals as { route?: string }).route = request.route?.path ?? UNMATCHED;
    return next.handle();
  }
}
