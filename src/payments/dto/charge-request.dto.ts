import {
  IsInt,
  IsISO4217CurrencyCode,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { IsStringRecord } from '../../common/is-string-record.validator.js';

export class ChargeRequestDto {
  /** Minor units (cents), so no float rounding ever touches money. */
  @IsInt()
  @Min(1)
  @Max(99_999_999)
  amount: number;

  @IsString()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be three upper-case letters' })
  @IsISO4217CurrencyCode()
  currency: string;

  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'customerId must be 1-64 characters of A-Z, a-z, 0-9, _ or -' })
  customerId: string;

  @IsOptional()
  @IsString()
  @MaxLength(255)
  description?: string;

  @IsOptional()
  @IsStringRecord({ maxEntries: 20, maxKeyLength: 40, maxValueLength: 500 })
  metadata?: Record<string, string>;
}
