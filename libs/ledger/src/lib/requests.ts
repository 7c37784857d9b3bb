import type { TransferRequest } from './types';

/**
 * The one shape of a deposit (mint: issuance -> agent) or a withdrawal (burn: agent -> issuance) of `amount`,
 * referenced as an operator action. The engine host builds it for a new movement; the api builds the same for an
 * id already in the journal, so the ledger can answer `replayed` (same body) or a conflict (another body).
 */
export function mintOrBurnRequest(
  kind: 'mint' | 'burn',
  id: string,
  accounts: { agent: string; issuance: string },
  amount: bigint,
  ref: string = id,
): TransferRequest {
  const [from, to] = kind === 'mint' ? [accounts.issuance, accounts.agent] : [accounts.agent, accounts.issuance];
  return {
    kind: 'transfer',
    type: kind,
    id,
    ref: { kind: 'admin', id: ref },
    legs: [
      { accountId: from, side: 'debit', amount },
      { accountId: to, side: 'credit', amount },
    ],
  };
}
