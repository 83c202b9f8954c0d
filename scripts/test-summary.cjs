// Prints vitest's JSON report as one plain closing line, "N passed, N failed, N skipped",
// which CI reads whatever the runner. A suite can fail with every test in it passed (an error
// in its beforeAll or afterAll): then the line names the failed files, or it would read "0 failed" beside a
// failed run (seen 2026-12-04, a cleanup that failed in an afterAll).
const { readFileSync } = require("node:fs");
const report = JSON.parse(readFileSync(process.argv[2], "utf8"));
const skipped = report.numPendingTests + report.numTodoTests;
// Files, not vitest's numFailedTestSuites: that counts every describe block around a failed test
// (one failed test read "3 suites failed").
const failedFiles = (report.testResults ?? []).filter((r) => r.status === "failed").length;
const suites = failedFiles > 0 ? `; ${failedFiles} file${failedFiles === 1 ? "" : "s"} failed` : "";
console.log(
  `tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped${suites}`,
);
