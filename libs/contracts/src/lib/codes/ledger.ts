/**
 * Rejection codes of the settlement ledger (libs/ledger). Prefix LEDGER_.
 * Never reuse, rename or renumber a code; add new ones at the end.
 * Statuses: 400 invalid request, 404 unknown thing, 409 idempotency conflict / already resolved,
 * 422 business rule (funds, limits).
 */
export const LEDGER_CODES = {
  LEDGER_ID_INVALID: { status: 400, message: 'The transfer id must be 1-128 characters of [A-Za-z0-9_.:-], starting with a letter or digit.' },
  LEDGER_TYPE_INVALID: { status: 400, message: 'The transfer type is not one the ledger knows for this kind of request.' },
  LEDGER_REFERENCE_INVALID: { status: 400, message: 'The reference must name a kind (order, trade, auction, admin) and an id of 1-128 characters.' },
  LEDGER_METADATA_INVALID: { status: 400, message: 'Metadata must be a plain JSON object within the size limit.' },
  LEDGER_LEGS_INVALID: { status: 400, message: 'A transfer needs 2 to 16 legs, each naming a distinct account, a side and an amount.' },
  LEDGER_AMOUNT_INVALID: { status: 400, message: 'Amounts must be positive integers of minor units.' },
  LEDGER_AMOUNT_OUT_OF_RANGE: { status: 400, message: 'The amount is beyond the range of a ledger amount (signed 64-bit).' },
  LEDGER_IDEMPOTENCY_CONFLICT: { status: 409, message: 'This transfer id was already used with a different request.' },
  LEDGER_ACCOUNT_NOT_FOUND: { status: 404, message: 'No such ledger account.' },
  LEDGER_HOLD_NOT_FOUND: { status: 404, message: 'No such hold.' },
  LEDGER_HOLD_ALREADY_RESOLVED: { status: 409, message: 'This hold was already posted or voided.' },
  LEDGER_UNBALANCED: { status: 400, message: 'The debits and credits of the transfer differ for an asset.' },
  LEDGER_ASSET_MISMATCH: { status: 422, message: 'The account holds another asset than the hold being posted.' },
  LEDGER_HOLD_EXCEEDED: { status: 422, message: 'The amount posted exceeds the amount held.' },
  LEDGER_INSUFFICIENT_FUNDS: { status: 422, message: 'The account does not have enough available funds.' },
  LEDGER_BALANCE_OVERFLOW: { status: 422, message: 'The balance would leave the range of a ledger amount.' },
  LEDGER_ASSET_INVALID: { status: 400, message: 'The asset definition is not valid.' },
  LEDGER_ASSET_NOT_FOUND: { status: 404, message: 'No such asset.' },
  LEDGER_ASSET_CONFLICT: { status: 409, message: 'An asset with this code exists with another definition.' },
  LEDGER_OWNER_INVALID: { status: 400, message: 'The account owner must be an agent, principal or system with an id of 1-128 characters.' },
  LEDGER_CURSOR_INVALID: { status: 400, message: 'The statement cursor or page size is not valid.' },
  LEDGER_TRANSFER_NOT_FOUND: { status: 404, message: 'No transfer with this id.' },
} as const satisfies Record<string, { status: number; message: string }>;
