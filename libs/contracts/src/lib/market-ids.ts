import { CREDIT } from './assets';

/**
 * A market has two names. Its **id**, `BASE-CREDIT` (e.g. `GPT-4O.1K-CREDIT`), is what the api shows and what goes
 * in a path unencoded. Its **symbol**, `BASE/CREDIT` (e.g. `GPT-4O.1K/CREDIT`), is the display name (and the
 * CCXT symbol), and the key the engine, its log and the database use. The api takes either form wherever it takes a
 * market. Both are unambiguous because every market's quote asset is CREDIT: the id is the base asset, one `-`,
 * and `CREDIT`, even when the base asset's code has dashes of its own.
 */
const BASE = '[A-Z0-9][A-Z0-9_.:-]{0,63}';
const SYMBOL = new RegExp(`^${BASE}/${CREDIT}$`);
const ID = new RegExp(`^(${BASE})-${CREDIT}$`);
/** Either form (what a request may carry). */
export const MARKET_REF_PATTERN = new RegExp(`^${BASE}[-/]${CREDIT}$`);

/** The symbol of a market whose base asset is `base`. */
export function marketSymbolOfBase(base: string): string {
  return `${base}/${CREDIT}`;
}

/** The api's id of the market with this symbol: `X/CREDIT` -> `X-CREDIT`. */
export function marketIdOf(symbol: string): string {
  return symbol.endsWith(`/${CREDIT}`) ? `${symbol.slice(0, -CREDIT.length - 1)}-${CREDIT}` : symbol;
}

/** The symbol (the engine's key) named by a market id or a symbol; null when the text is neither. */
export function marketSymbolOf(ref: string): string | null {
  if (SYMBOL.test(ref)) return ref;
  const m = ID.exec(ref);
  return m ? marketSymbolOfBase(m[1]) : null;
}
