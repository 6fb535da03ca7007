export { ADMIN_TOKEN_HEADER } from './auth.constants.js';
export { AuthGuard } from './auth.guard.js';
export { AdminOnly, Public } from './route-role.decorator.js';
