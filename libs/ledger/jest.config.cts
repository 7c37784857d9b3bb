module.exports = {
  displayName: 'ledger',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/ledger',
};
