/**
 * Rejection and cancel reason codes of the matching engine (libs/matching). Prefix MATCHING_.
 * Never reuse, rename or renumber a code; add new ones at the end.
 */
export const MATCHING_CODES = {} as const satisfies Record<string, { status: number; message: string }>;
