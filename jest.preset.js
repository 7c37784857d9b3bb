// Shared Jest preset: SWC transpiles TypeScript (with decorator metadata for NestJS) in a few ms per file;
// type checking is the build target's job (tsc), not the test runner's.
const nxPreset = require('@nx/jest/preset').default;

module.exports = {
  ...nxPreset,
  testEnvironment: 'node',
  transform: {
    '^.+\\.[tj]s$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'commonjs' },
        sourceMaps: 'inline',
      },
    ],
  },
  // Dependencies that ship only ES modules (Jest's CommonJS runtime cannot load them untransformed).
  transformIgnorePatterns: ['^(?!.*/node_modules/(content-disposition|cookie|jose)/).*/node_modules/'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  // no secret in the output, no data written into the checkout (jest.guard.js)
  setupFilesAfterEnv: [require.resolve('./jest.guard.js')],
};
