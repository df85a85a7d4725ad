import { defineConfig } from 'vitest/config';

export default defineConfig({
    test: {
        include: ['test/**/*.test.ts'],
        globalSetup: ['test/global-setup.ts'],
        exclude: ['test/e2e/**', 'node_modules/**'],
        deps: { interopDefault: true },
        testTimeout: 60_000,
        pool: 'forks',
    },
});
