import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { deriveSigningKey, signatureMatches, signRequest } from '@ate/contracts';
import { AteApiError, AteClient } from './client';

describe('AteClient', () => {
  it('signs timestamp, method, path with query and the exact body', () => {
    const c = new AteClient({ baseUrl: 'http://x', keyId: 'ak_0123456789abcdef', secret: 's3cret' });
    const h = c.sign('post', '/v1/orders?dry=1', '{"a":1}', 1_795_000_000_000);
    expect(h['ate-key']).toBe('ak_0123456789abcdef');
    expect(h['ate-timestamp']).toBe('1795000000000');
    const expected = signRequest(deriveSigningKey('s3cret'), '1795000000000', 'POST', '/v1/orders?dry=1', '{"a":1}');
    expect(signatureMatches(expected, h['ate-signature'] as string)).toBe(true);
    expect(signatureMatches(expected, c.sign('POST', '/v1/orders', '{"a":1}', 1_795_000_000_000)['ate-signature'] as string)).toBe(false);
  });

  it('never signs two requests with the same timestamp: the same request twice in one millisecond is not a replay', () => {
    const c = new AteClient({ baseUrl: 'http://x', keyId: 'ak_0123456789abcdef', secret: 's3cret' });
    const stamps = Array.from({ length: 50 }, () => Number(c.sign('GET', '/v1/me', '')['ate-timestamp']));
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]).toBeGreaterThan(stamps[i - 1] as number);
    expect(new Set(Array.from({ length: 5 }, () => c.sign('GET', '/v1/me', '')['ate-signature'])).size).toBe(5);
    expect(Math.abs((stamps[0] as number) - Date.now())).toBeLessThan(1_000);
  });

  it('refuses to sign without a key', () => {
    expect(() => new AteClient({ baseUrl: 'http://x' }).sign('GET', '/', '')).toThrow(/no API key/);
  });

  describe('against an HTTP server', () => {
    let server: Server;
    let base: string;
    const seen: { headers: Record<string, unknown>; body: string; url: string }[] = [];
    beforeAll(async () => {
      server = createServer((req, res) => {
        let body = '';
        req
          .on('data', (d) => (body += d))
          .on('end', () => {
            seen.push({ headers: req.headers, body, url: req.url ?? '' });
            if (req.url === '/v1/time') {
              res.setHeader('content-type', 'application/json');
              res.end(JSON.stringify({ serverTime: Date.now() + 60_000, iso: '' }));
            } else {
              res.statusCode = 422;
              res.setHeader('content-type', 'application/json');
              res.end(JSON.stringify({ error: { code: 'LEDGER_INSUFFICIENT_FUNDS', message: 'no', details: { need: '1.000' } } }));
            }
          });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('turns the error shape into AteApiError with the stable code', async () => {
      const c = new AteClient({ baseUrl: base, keyId: 'ak_0123456789abcdef', secret: 's' });
      const err = await c.post('/v1/orders', { side: 'buy' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AteApiError);
      expect(err).toMatchObject({ status: 422, code: 'LEDGER_INSUFFICIENT_FUNDS', details: { need: '1.000' } });
      const last = seen[seen.length - 1]!;
      expect(last.body).toBe('{"side":"buy"}');
      expect(last.headers['content-type']).toBe('application/json');
      expect(last.headers['ate-signature']).toMatch(/^[0-9a-f]{64}$/);
    });

    it('syncTime measures the server clock and timestamps requests with it', async () => {
      const c = new AteClient({ baseUrl: base, keyId: 'ak_0123456789abcdef', secret: 's' });
      const offset = await c.syncTime();
      expect(offset).toBeGreaterThan(55_000);
      expect(offset).toBeLessThan(65_000);
      expect(Number(c.sign('GET', '/', '')['ate-timestamp']) - Date.now()).toBeGreaterThan(55_000);
    });
  });
});
