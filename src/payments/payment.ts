import { ApiProperty } from '@nestjs/swagger';

/** A charge as this service reports it (the response body of POST /api/payments/charge). */
export class Payment {
  @ApiProperty({ example: 'ch_4cd36e51aa1842c99bf6496b5fc1ad92' })
  id: string;

  @ApiProperty({ example: 'ord_678bbbeb7a3c96e7caf7266a' })
  orderId: string;

  @ApiProperty({ description: 'Minor units', example: 1999 })
  amount: number;

  @ApiProperty({ example: 'EUR' })
  currency: string;

  @ApiProperty({ example: 'cus_42' })
  customerId: string;

  @ApiProperty({ enum: ['succeeded'] })
  status: 'succeeded';

  @ApiProperty({ format: 'date-time' })
  createdAt: string;
}

/** A payment as stored: with its owner, who alone may read it. */
export interface StoredPayment extends Payment {
  owner: string;
}
