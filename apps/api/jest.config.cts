module.exports = {
  displayName: 'api',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/api',
  // end-to-end suites start the app on a fresh database; on a loaded 2-core machine that can take seconds
  testTimeout: 30_000,
  // An app closed while its Redis is away (rate-limit.e2e's "Redis away" case) leaves a client reconnecting that
  // Jest's open-handle detector does not name; every suite has passed by then. Until that client is found, exit
  // once the run is over rather than hang the run (and CI) after it.
  forceExit: true,
};
