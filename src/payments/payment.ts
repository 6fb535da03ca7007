import { ApiProperty } from '@nestjs/swagger';
import { CustomerAmount } from '../common/customer-amount.js';

/** A charge as this service reports it (the response body of POST /api/payments/charge). */
export class Payment extends CustomerAmount {
  @ApiProperty({ example: 'ch_4cd36e51aa1842c99bf6496b5fc1ad92' })
  id: string;

  @ApiProperty({ example: 'ord_678bbbeb7a3c96e7caf7266a' })
  orderId: string;

  @ApiProperty({ enum: ['succeeded'] })
  status: 'succeeded';

  @ApiProperty({ format: 'date-time' })
  createdAt: string;
}

/** A payment as stored: with its owner, who alone may read it. */
export interface StoredPayment extends Payment {
  owner: string;
}
