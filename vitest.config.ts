import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Kernel tests share global kernel state (cgroups, netns, pins): keep files in one worker pool
    // but let vitest run them in parallel processes; each test cleans up its own objects.
    pool: 'forks',
    globalSetup: ['test/support/global-setup.ts'],
  },
});
