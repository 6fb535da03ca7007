import { SetMetadata } from '@nestjs/common';
import { ROUTE_ROLE_METADATA } from './auth.constants.js';

/** No credentials needed (health probes). */
export const Public = () => SetMetadata(ROUTE_ROLE_METADATA, 'public');

/** Operators only: the admin token, never a merchant key. */
export const AdminOnly = () => SetMetadata(ROUTE_ROLE_METADATA, 'admin');
