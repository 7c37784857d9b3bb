/**
 * Rejection codes of the settlement ledger (libs/ledger). Prefix LEDGER_.
 * Never reuse, rename or renumber a code; add new ones at the end.
 */
export const LEDGER_CODES = {} as const satisfies Record<string, { status: number; message: string }>;
