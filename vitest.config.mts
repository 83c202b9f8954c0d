import { defineConfig } from "vitest/config";

// Two cores: run test files in two forks; database-backed suites share one PostgreSQL.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ["default"],
    // Compiles the server that server-process.ts starts; scans every server log of the run
    // for key and token material (test/support/log-scan.ts).
    globalSetup: ["test/support/global-build.ts", "test/support/global-log-scan.ts"],
  },
});
