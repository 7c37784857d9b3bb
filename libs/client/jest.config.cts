module.exports = {
  displayName: 'client',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/client',
};
