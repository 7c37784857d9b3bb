module.exports = {
  displayName: 'mechanisms',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/mechanisms',
};
