/** The unit of account. Every market pairs an allowance asset with it. */
export const CREDIT = 'CREDIT';
/** Minor units of CREDIT: 3 decimals, so "12.500" credits is 12500. */
export const CREDIT_SCALE = 3;
