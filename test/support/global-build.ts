import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { buildSync } from "esbuild";

const ROOT = join(__dirname, "..", "..");

/**
 * vitest globalSetup: compiles the server to dist/ once per run (scripts/build-server.cjs, the
 * same build `make run` uses, about 0.4 s of CPU), so test/support/server-process.ts starts
 * `node dist/src/main.js` exactly as `make run` does and no server process transpiles sources.
 * The TypeScript client program of test/clients.test.ts (test/clients/ts) is compiled beside it
 * the same way, to dist/test/clients/ts, where its imports of gen/ts resolve to dist/gen/ts.
 */
export default function setup(): void {
  execFileSync(process.execPath, [join(ROOT, "scripts", "build-server.cjs")], {
    stdio: "inherit",
  });
  const clients = join("test", "clients", "ts");
  buildSync({
    absWorkingDir: ROOT,
    entryPoints: readdirSync(join(ROOT, clients))
      .filter((name) => name.endsWith(".ts"))
      .map((name) => join(clients, name)),
    outdir: "dist",
    outbase: ".",
    format: "cjs",
    platform: "node",
    target: "node20",
    logLevel: "warning",
  });
}
