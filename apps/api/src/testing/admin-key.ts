/** The admin key the test apps install from configuration (ADMIN_KEY_ID / ADMIN_SECRET). */
export const TEST_ADMIN = { keyId: 'ak_admin0000000000000001', secret: 'admin-secret-for-tests-0123456789abcdef' } as const;
