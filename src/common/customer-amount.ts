import { ApiProperty } from '@nestjs/swagger';

/** Who paid, or is to pay, how much: the fields every view of a charge (order, payment, receipt) shows alike. */
export class CustomerAmount {
  @ApiProperty({ description: 'Minor units', example: 1999 })
  amount: number;

  @ApiProperty({ example: 'EUR' })
  currency: string;

  @ApiProperty({ example: 'cus_42' })
  customerId: string;
}

/** The columns a CustomerAmount is stored in, as PostgreSQL returns them: a bigint amount arrives as text. */
export interface CustomerAmountColumns {
  amount: string;
  currency: string;
  customer_id: string;
}

export function customerAmountOf(row: CustomerAmountColumns): CustomerAmount {
  return { amount: Number(row.amount), currency: row.currency, customerId: row.customer_id };
}
