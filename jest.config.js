// Tests are compiled by tsc first (`npm run build`), then jest runs the JS: no transpiler in the loop.
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/dist/test'],
  testMatch: ['**/*.test.js'],
  testTimeout: 120000,
  verbose: true,
};
