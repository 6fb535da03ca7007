import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import { ROUTE_ROLE_METADATA, type RouteRole } from '../auth/auth.constants.js';
import { principalOf, type RequestWithPrincipal } from '../auth/principal.js';
import { ProblemException } from '../common/problem.js';

/**
 * Limits each merchant, not each IP: runs after AuthGuard and counts all of a merchant's /api
 * calls together. Health probes and the admin routes are not limited.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    const role = this.reflector.getAllAndOverride<RouteRole | undefined>(ROUTE_ROLE_METADATA, [context.getHandler(), context.getClass()]);
    return role === 'public' || role === 'admin';
  }

  protected override async getTracker(request: RequestWithPrincipal): Promise<string> {
    return principalOf(request);
  }

  protected override generateKey(_context: ExecutionContext, tracker: string): string {
    return tracker;
  }

  protected override async throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    throw new ProblemException(429, 'RATE_LIMITED', `Too many requests: at most ${detail.limit} per ${Math.round(detail.ttl / 1000)} s. Retry later.`, {
      headers: { 'Retry-After': String(detail.timeToBlockExpire) },
    });
  }
}
