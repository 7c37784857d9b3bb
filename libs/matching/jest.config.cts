module.exports = {
  displayName: 'matching',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/matching',
};
