module.exports = {
  displayName: 'engine',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/engine',
};
