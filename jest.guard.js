// Runs in every test file (jest.preset.js, setupFilesAfterEnv): a test prints no secret and writes no data into
// the checkout. Keys, first-admin-key files and databases live in temporary folders (testConfig / testApiEnv
// give one); output that carries an API secret is withheld and fails the file.
const { readdirSync, statSync } = require('node:fs');
const { join, resolve } = require('node:path');

const SECRET = /ATE_SECRET=\S/;
const started = Date.now();
const printed = [];
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream);
  stream.write = (chunk, ...rest) => {
    if (SECRET.test(String(chunk))) {
      printed.push(
        String(chunk)
          .replace(/ATE_SECRET=\S+/g, '<ATE_SECRET withheld>')
          .trim()
          .slice(0, 200),
      );
      return write('[a secret was withheld from the output]\n', ...rest);
    }
    return write(chunk, ...rest);
  };
}

/** Files under `dir` changed since this test file started. */
function changedSince(dir, t0) {
  const out = [];
  const walk = (d) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (statSync(p, { throwIfNoEntry: false })?.mtimeMs >= t0) out.push(p);
    }
  };
  walk(dir);
  return out;
}

afterAll(() => {
  const dirs = [...new Set([resolve(process.cwd(), '.data'), resolve(__dirname, '.data'), resolve(__dirname, 'apps/api/.data')])];
  // .data/ under the checkout is the developer's own exchange (npm start); the embedded Postgres's files change while it runs
  const written = dirs.flatMap((d) => changedSince(d, started)).filter((p) => !p.includes('/.data/pg/'));
  const problems = [
    ...printed.map((p) => `printed a secret: ${p}`),
    ...written.map((p) => `wrote into the checkout: ${p} (use a temporary folder: testConfig / testApiEnv set DATA_DIR)`),
  ];
  if (problems.length) throw new Error(problems.join('\n'));
});
