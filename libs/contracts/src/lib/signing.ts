import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed requests. Every private request carries three headers:
 *   ate-key:       the API key id (ak_...)
 *   ate-timestamp: milliseconds since the epoch, as a decimal string
 *   ate-signature: hex HMAC-SHA256, keyed with the signing key, over the canonical request
 * The canonical request is `${timestamp}\n${METHOD}\n${path with query}\n${body}` (body: the exact bytes sent,
 * empty for none). The signing key is derived from the secret shown once at key creation, so the server can
 * keep the derived key (encrypted) and never the secret.
 */
export const SIGNING_HEADERS = { key: 'ate-key', timestamp: 'ate-timestamp', signature: 'ate-signature' } as const;

/** How far a request's timestamp may be from the server's clock, in ms: small, to bound replays and skew. */
export const AUTH_RECV_WINDOW_MS = 5_000;

const KEY_DERIVATION_LABEL = 'ate-signing-key-v1';

export function deriveSigningKey(secret: string): Buffer {
  return createHmac('sha256', secret).update(KEY_DERIVATION_LABEL).digest();
}

export function canonicalRequest(timestamp: string, method: string, pathWithQuery: string, body: string): string {
  return `${timestamp}\n${method.toUpperCase()}\n${pathWithQuery}\n${body}`;
}

export function signRequest(signingKey: Buffer, timestamp: string, method: string, pathWithQuery: string, body: string): string {
  return createHmac('sha256', signingKey)
    .update(canonicalRequest(timestamp, method, pathWithQuery, body))
    .digest('hex');
}

/** Constant-time comparison of a presented hex signature with the expected one. */
export function signatureMatches(expectedHex: string, presented: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(presented)) return false;
  return timingSafeEqual(Buffer.from(expectedHex, 'hex'), Buffer.from(presented, 'hex'));
}
