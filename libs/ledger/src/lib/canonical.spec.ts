import { chainHashHex, GENESIS_HEX, sha256Hex, transferBody } from './canonical';

/**
 * Known answers of the journal's hashes, computed outside the code (sha256sum over the documented strings:
 * body = the canonical JSON array; link = sha256(prev_hex "\n" seq "\n" id "\n" body)). A change to what they
 * cover (the previous hash, the seq, the transfer id, the body) or to how they are joined changes these values.
 */
describe('journal hashes (known answers)', () => {
  const body = transferBody('mint', { kind: 'admin', id: 'kat-1' }, null, [
    ['acc_issuance0001', -1500n],
    ['acc_alice0000001', 1500n],
  ]);

  it('the canonical body of a transfer and its hash', () => {
    expect(body).toBe('["transfer","mint","admin","kat-1",null,[["acc_issuance0001","-1500"],["acc_alice0000001","1500"]]]');
    expect(sha256Hex(body)).toBe('81fac6b594d52b5cf3fab0c04da941a1d22a23546b1eb84ea943cc6beb5c0494');
  });

  it.each([
    ['genesis, seq 1', GENESIS_HEX, 1n, 'mint:kat-1', '7026fdbd924f2be02d4afc8b3b61f451fb8ff42c5fae29b3068c16b36477aeed'],
    ['another id, same body', GENESIS_HEX, 1n, 'mint:kat-2', 'a96fe9cd2a20dba1005c69e851e9df215f24baa63aa6fe15ad058ff81f69a048'],
    ['another seq', GENESIS_HEX, 2n, 'mint:kat-1', '26cd39ea03df4eee0d8da97ea24908a6b1be425dbcca875e362a1f68cc3b4502'],
    ['another previous hash', 'ab'.repeat(32), 1n, 'mint:kat-1', 'b274de2e8de0722ab64b06d67bcafd1d3b1e818e21ed11c39c71151985f24eef'],
  ])('the chain link: %s', (_name, prev, seq, id, link) => {
    expect(chainHashHex(prev, seq, id, body)).toBe(link);
  });
});
