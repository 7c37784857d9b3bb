import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '../../../..');

/**
 * The repository stands on its own: no code comment or document points to the design sketch the project started
 * from, which is not in it (its needed text lives in the repo's own docs). Checked over every tracked file.
 */
describe('references to documents outside the repository', () => {
  it('no tracked file names DESIGN.md', () => {
    const files = execFileSync('git', ['ls-files', 'apps', 'libs', 'scripts', 'docs', 'README.md', 'prisma'], { cwd: root, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f && !f.endsWith('repo-references.spec.ts'));
    expect(files.length).toBeGreaterThan(100);
    const naming = files.filter((f) => readFileSync(join(root, f), 'utf8').includes('DESIGN.md'));
    expect(naming).toEqual([]);
  });
});
