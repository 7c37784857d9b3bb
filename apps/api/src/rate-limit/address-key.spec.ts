import { addressKey } from './rate-limit';

describe('addressKey: the budget an address draws on', () => {
  it.each([
    ['IPv4 as is', '203.0.113.7', '203.0.113.7'],
    ['IPv4-mapped IPv6 as its IPv4', '::ffff:203.0.113.7', '203.0.113.7'],
    ['IPv6 by its /64', '2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['the same /64, another host', '2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['compressed at the end', '2001:db8::1', '2001:db8:0:0::/64'],
    ['compressed in the middle', '2001:db8:0:1::1', '2001:db8:0:1::/64'],
    ['leading zeros and upper case', '2001:0DB8:0000:0001::1', '2001:db8:0:1::/64'],
    ['loopback', '::1', '0:0:0:0::/64'],
    ['a zone index is dropped', 'fe80::1%eth0', 'fe80:0:0:0::/64'],
  ])('%s: %s -> %s', (_name, ip, key) => {
    expect(addressKey(ip)).toBe(key);
  });
});
