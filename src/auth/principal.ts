import { createParamDecorator, ExecutionContext } from '@nestjs/common';

/** The caller's identity when authentication is off: every caller shares this scope. */
export const ANONYMOUS_PRINCIPAL = 'anonymous';

/** Authentication sets `principal` on the request; everything that scopes data reads it here. */
export interface RequestWithPrincipal {
  principal?: string;
}

export const principalOf = (request: RequestWithPrincipal): string => request.principal ?? ANONYMOUS_PRINCIPAL;

/** The authenticated caller (or `anonymous`), for handlers that scope what they return. */
export const Principal = createParamDecorator((_: unknown, context: ExecutionContext) =>
  principalOf(context.switchToHttp().getRequest<RequestWithPrincipal>()),
);
