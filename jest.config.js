/** One jest run over every project; integration suites start real nats-server / FerretDB themselves. */
const swc = ['@swc/jest', {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
  },
  module: { type: 'commonjs' },
}];

module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': swc },
  roots: ['<rootDir>/libs', '<rootDir>/services', '<rootDir>/cli', '<rootDir>/chaincode'],
  testMatch: ['**/test/**/*.test.ts', '**/src/**/*.spec.ts'],
  testTimeout: 60_000,
  maxWorkers: 2,
  verbose: true,
};
