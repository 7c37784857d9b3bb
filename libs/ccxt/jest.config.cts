module.exports = {
  displayName: 'ccxt',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/ccxt',
  // ccxt's CommonJS build requires @noble/* and @scure/*, which ship only ES modules (Node loads them with
  // require(esm); Jest's CommonJS runtime needs them transpiled)
  transformIgnorePatterns: ['^(?!.*/node_modules/(@noble|@scure|content-disposition|cookie)/).*/node_modules/'],
  // the suite starts a real exchange process
  testTimeout: 60_000,
};
