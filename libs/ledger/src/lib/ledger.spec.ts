import { ledger } from './ledger';

describe('ledger', () => {
  it('should work', () => {
    expect(ledger()).toEqual('ledger');
  });
});
