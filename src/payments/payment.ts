/** A charge as this service reports it (the response body of POST /api/payments/charge). */
export interface Payment {
  id: string;
  orderId: string;
  amount: number;
  currency: string;
  customerId: string;
  status: 'succeeded';
  createdAt: string;
}

/** A payment as stored: with its owner, who alone may read it. */
export interface StoredPayment extends Payment {
  owner: string;
}
