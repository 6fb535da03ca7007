import { channel } from 'node:diagnostics_channel';

export type GatewayCallResult = 'succeeded' | 'deduplicated' | 'declined' | 'unavailable';

export interface GatewayCallEvent {
  result: GatewayCallResult;
  durationMs: number;
}

/**
 * The mock gateway announces each call here; metrics listen. A channel keeps the provider free of
 * any dependency on metrics, and publishing costs nothing while nobody subscribes.
 */
export const gatewayCalls = channel('payments:gateway-calls');
