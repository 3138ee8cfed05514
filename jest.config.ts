import type { Config } from 'jest';

// Native ESM: our packages and jose 6 are ESM-only, so tests run them as Node loads them
// (`NODE_OPTIONS=--experimental-vm-modules`, set by the `test:jest` script). ts-jest only
// transpiles (`isolatedModules`); `npm run typecheck` does the type checking.
const config: Config = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  testMatch: ['<rootDir>/packages/*/test/**/*.test.ts', '<rootDir>/examples/*/test/**/*.test.ts'],
  moduleNameMapper: {
    '^@mcp-identity/core/internal$': '<rootDir>/packages/core/src/internal.ts',
    '^@mcp-identity/(core|gateway|receiver)$': '<rootDir>/packages/$1/src/index.ts',
    '^@mcp-identity/example-(.+)$': '<rootDir>/examples/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.test.json' }],
  },
  setupFilesAfterEnv: ['<rootDir>/test/setup-console.ts'],
  testTimeout: 20_000,
};

export default config;
