import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "sandbox/test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // A temporary PostgreSQL and a migrated PGlite template for the store tests (see the files).
    globalSetup: ["test/support/postgres.ts", "test/support/pglite-template.ts"],
  },
});
