import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let dir: string | undefined;

/**
 * A DATA_DIR of this test process's own (master-key file, first admin key), removed when the process exits: tests
 * write nothing into the checkout (jest.guard.js checks).
 */
export function testDataDir(): string {
  if (!dir) {
    const d = mkdtempSync(join(tmpdir(), 'ate-test-data-'));
    dir = d;
    process.once('exit', () => rmSync(d, { recursive: true, force: true }));
  }
  return dir;
}
