import { channel } from 'node:diagnostics_channel';

export type ReconcileResult = 'paid' | 'abandoned';

/** An order the reconciler settled: `paid` (the gateway had charged) or `abandoned` (it had not). */
export interface OrderReconciled {
  result: ReconcileResult;
}

/** After each sweep: when the attempt of the oldest CREATED order began (ms), undefined when none is open. */
export interface OpenOrdersObserved {
  oldestBeganAt?: number;
}

/** The reconciler reports here; metrics listen (no dependency of the reconciler on metrics). */
export const ordersReconciled = channel('payments:orders-reconciled');
export const openOrdersObserved = channel('payments:open-orders-observed');
