import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Starts a temporary PostgreSQL for the store tests (see the file); PGlite needs nothing.
    globalSetup: ["test/support/postgres.ts"],
  },
});
