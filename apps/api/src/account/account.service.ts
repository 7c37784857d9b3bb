import { Injectable } from '@nestjs/common';
import { EngineLink } from '../engine/engine-link';
import { LedgerService } from '../ledger/ledger.service';

/** An agent's own money: balances as CCXT reads them (free/used/total) and its ledger statement. */
@Injectable()
export class AccountService {
  constructor(
    private readonly ledger: LedgerService,
    private readonly engine: EngineLink,
  ) {}

  /** `used` is what the ledger holds plus what open orders reserve in the engine; `free` the rest of the total. */
  async balances(agentId: string) {
    const reserved = await this.engine.reserved(agentId);
    const list = await this.ledger.balances({ kind: 'agent', id: agentId }, (asset) => reserved.get(asset) ?? 0n);
    return { agentId, balances: Object.fromEntries(list.map(({ asset, ...b }) => [asset, b])) };
  }

  statement(agentId: string, asset: string, cursor: string | undefined, limit: number | undefined) {
    return this.ledger.statement(agentId, asset, cursor, limit);
  }
}
