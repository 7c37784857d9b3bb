module.exports = {
  displayName: 'sequencer',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/sequencer',
};
