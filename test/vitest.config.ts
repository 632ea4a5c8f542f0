import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    typecheck: { enabled: true, include: ['**/*.test-d.ts'], tsconfig: './tsconfig.json' },
    // Generous: these machines are shared 2-core boxes. Behaviour is tested here, speed in packages/bench.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    server: {
      deps: {
        // The library as built (what workers load), and the legacy fixture modules, are loaded by
        // Node itself, as in a real program: tothread finds a function's module by identity.
        external: [/\/packages\/core\/dist\//, /\/test\/fixtures\//],
      },
    },
  },
});
