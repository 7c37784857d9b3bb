import { mechanisms } from './mechanisms';

describe('mechanisms', () => {
  it('should work', () => {
    expect(mechanisms()).toEqual('mechanisms');
  });
});
