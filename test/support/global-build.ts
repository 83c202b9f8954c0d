import { execFileSync } from "node:child_process";
import { join } from "node:path";

/**
 * vitest globalSetup: compiles the server to dist/ once per run (scripts/build-server.cjs, the
 * same build `make run` uses), so test/support/server-process.ts starts `node dist/src/main.js`
 * exactly as `make run` does.
 */
export default function setup(): void {
  execFileSync(process.execPath, [join(__dirname, "..", "..", "scripts", "build-server.cjs")], {
    stdio: "inherit",
  });
}
