// Prints vitest's JSON report as one plain closing line, "N passed, N failed, N skipped",
// which CI reads whatever the runner. A suite can fail with every test in it passed (an error
// in its beforeAll or afterAll): then the line says so, or it would read "0 failed" beside a
// failed run (seen 2026-12-04, a cleanup that failed in an afterAll).
const { readFileSync } = require("node:fs");
const report = JSON.parse(readFileSync(process.argv[2], "utf8"));
const skipped = report.numPendingTests + report.numTodoTests;
const suites = report.numFailedTestSuites > 0 ? `; ${report.numFailedTestSuites} suites failed` : "";
console.log(
  `tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped${suites}`,
);
