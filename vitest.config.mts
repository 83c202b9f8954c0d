import { defineConfig } from "vitest/config";

// Two cores: run test files in two forks; database-backed suites share one PostgreSQL.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    maxWorkers: 2,
    // Each fork imports the server's modules (grpc-js, MikroORM, the generated code) once and
    // runs its test files one after another on them, instead of a fresh process and a fresh
    // import per file: that import was about a third of a run's time. Test files share no state
    // through modules: each starts its own servers on its own database and stops them.
    isolate: false,
    // Bounds for a hung test, not performance expectations: a test waits for states, and the
    // run must pass on a machine kept busy by other work (scripts/busy).
    testTimeout: 180_000,
    hookTimeout: 300_000,
    reporters: ["default"],
    globalSetup: [
      // The compiled server (dist/) that the tests start as a process, rebuilt when src/ changed.
      "test/support/global-build.ts",
      // The migrated template database that test databases are cloned from.
      "test/support/global-template-database.ts",
      // Scans every server log of the run for key and token material (test/support/log-scan.ts).
      "test/support/global-log-scan.ts",
    ],
  },
});
