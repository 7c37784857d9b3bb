module.exports = {
  displayName: 'mcp',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/mcp',
  // the suite starts a real exchange process and the MCP server as a child process
  testTimeout: 60_000,
};
