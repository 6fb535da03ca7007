import { ApiProperty } from '@nestjs/swagger';
import { CustomerAmount } from '../common/customer-amount.js';

/** A paid order's receipt, written once by the events worker from its payment.succeeded event. */
export class Receipt extends CustomerAmount {
  @ApiProperty({ example: 'ord_678bbbeb7a3c96e7caf7266a' })
  orderId: string;

  @ApiProperty({ example: 'ch_4cd36e51aa1842c99bf6496b5fc1ad92' })
  chargeId: string;

  @ApiProperty({ format: 'date-time' })
  paidAt: string;

  @ApiProperty({ description: 'The payment.succeeded event it was made from', example: 'evt_0f8e3b9a4c2d4e6f8a1b3c5d7e9f1a2b' })
  eventId: string;
}

/** A receipt as stored: with its owner, who alone may read it. */
export interface StoredReceipt extends Receipt {
  owner: string;
}

export class CurrencyBalance {
  @ApiProperty({ example: 'EUR' })
  currency: string;

  @ApiProperty({ description: 'Sum of the succeeded payments, minor units', example: 1999 })
  amount: number;

  @ApiProperty({ description: 'How many succeeded payments the sum holds', example: 1 })
  payments: number;
}

export class CustomerBalance {
  @ApiProperty({ example: 'cus_42' })
  customerId: string;

  @ApiProperty({ type: [CurrencyBalance], description: 'One entry per currency the customer paid in, by currency code; empty before the first payment' })
  balances: CurrencyBalance[];
}
