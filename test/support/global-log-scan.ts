import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scanLogDirectory } from "./log-scan";

/**
 * vitest globalSetup: every certmint server a test starts (in process through the harness, or
 * as a process through server-process.ts) copies its log into CERTMINT_TEST_LOG_DIR. When the
 * whole run is over, the teardown scans them all for private keys and access tokens, and fails
 * the run on any finding (issue 6: "a whole test run's logs are scanned").
 */
export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "certmint-test-logs-"));
  process.env.CERTMINT_TEST_LOG_DIR = dir;
  return () => {
    const files = readdirSync(dir).length;
    const findings = scanLogDirectory(dir);
    if (findings.length > 0) {
      const list = findings.map((f) => `${f.file}:${f.line}: ${f.kind}`).join("\n");
      // The logs stay for inspection.
      throw new Error(`secrets found in server logs of this test run:\n${list}`);
    }
    console.log(`log scan: ${files} server logs of this run hold no private key or access token`);
    rmSync(dir, { recursive: true, force: true });
  };
}
