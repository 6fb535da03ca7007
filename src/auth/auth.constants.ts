export const ROUTE_ROLE_METADATA = 'AUTH:ROUTE_ROLE';

/** Who may call a route: anyone, a merchant with an API key (the default), or an operator with the admin token. */
export type RouteRole = 'public' | 'merchant' | 'admin';

export const ADMIN_TOKEN_HEADER = 'X-Admin-Token';
