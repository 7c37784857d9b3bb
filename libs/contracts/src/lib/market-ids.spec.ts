import { MARKET_REF_PATTERN, marketIdOf, marketSymbolOf } from './market-ids';

describe('market ids and symbols', () => {
  // [what a request carries, the symbol it names (null: not a market reference)], in the order the rules apply
  const cases: [string, string | null][] = [
    ['GPT-4O.1K/CREDIT', 'GPT-4O.1K/CREDIT'], // a symbol is taken as is
    ['GPT-4O.1K-CREDIT', 'GPT-4O.1K/CREDIT'], // an id: the last "-CREDIT" is the quote
    ['A-CREDIT-CREDIT', 'A-CREDIT/CREDIT'], // a base asset whose own code ends in -CREDIT
    ['A-CREDIT/CREDIT', 'A-CREDIT/CREDIT'],
    ['X1-CREDIT', 'X1/CREDIT'],
    ['GPT-4O.1K', null], // no quote
    ['GPT-4O.1K/USD', null], // another quote
    ['gpt-4o.1k-CREDIT', null], // lower case
    ['-CREDIT', null], // no base
    ['/CREDIT', null],
    ['GPT%2FCREDIT', null], // still encoded
    ['A/B/CREDIT', null],
    ['', null],
  ];
  it.each(cases)('%j names %j', (ref, symbol) => {
    expect(marketSymbolOf(ref)).toBe(symbol);
    expect(MARKET_REF_PATTERN.test(ref)).toBe(symbol !== null);
  });

  it('the id of a symbol names the symbol again, and has no character a path must encode', () => {
    for (const s of ['GPT-4O.1K/CREDIT', 'A-CREDIT/CREDIT', 'M:1_2.3/CREDIT']) {
      const id = marketIdOf(s);
      expect(encodeURIComponent(id)).toBe(id.replace(/:/g, '%3A'));
      expect(id).not.toContain('/');
      expect(marketSymbolOf(id)).toBe(s);
    }
  });
});
