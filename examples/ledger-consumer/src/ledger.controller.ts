import { Controller, Get, Inject } from '@nestjs/common';
import { LedgerRepository, type LedgerEntry, type LedgerTotal } from './ledger.repository.js';

const SHOWN_ENTRIES = 100;

@Controller('ledger')
export class LedgerController {
  constructor(@Inject(LedgerRepository) private readonly ledger: LedgerRepository) {}

  /** The newest entries (up to 100) and every entry summed per currency. */
  @Get()
  async show(): Promise<{ totals: LedgerTotal[]; entries: LedgerEntry[] }> {
    const [totals, entries] = await Promise.all([this.ledger.totals(), this.ledger.latest(SHOWN_ENTRIES)]);
    return { totals, entries };
  }
}
