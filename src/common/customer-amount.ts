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
