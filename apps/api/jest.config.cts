module.exports = {
  displayName: 'api',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/api',
  // end-to-end suites start the app on a fresh database; on a loaded 2-core machine that can take seconds
  testTimeout: 30_000,
};
