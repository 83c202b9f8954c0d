/**
 * Probe 52 (LOCAL, finding F1, the fix): the README's hand-run recipes keep secrets out of
 * argv, which every local user reads (`ps`, /proc/PID/cmdline). argv-secrets.test.ts catches
 * the open watch as another user; here the other recipes run as the README writes them against
 * a live server, with grpcurl and curl behind shims that record the arguments they were given,
 * so a recipe that put the token on a command line is seen however quickly it ends:
 *
 * - "Talking to certmint with grpcurl": GetRequestStatus with the admin token in grpcurl's
 *   environment (`-expand-headers`, `'${TOKEN}'`) answers NOT_FOUND, not UNAUTHENTICATED;
 * - "Metrics": the by-hand scrape with the metrics token reads the exposition, not a 401.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerOnDatabase, startOnFreshDatabase, stopOnDatabase } from "../../probe49/live";
import { ROOT, START_LIMIT_MS } from "../../support/server-process";

const README = readFileSync(join(ROOT, "README.md"), "utf8");
const GRPCURL = ".tools/bin/grpcurl";

/** The shell blocks of the README's section `heading` (up to the next `## `). */
function shellBlocks(heading: string): string[] {
  const section = README.split(`\n${heading}\n`)[1]?.split(/\n## /)[0];
  if (!section) throw new Error(`README has no section "${heading}"`);
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

describe("probe52 localfix: the README's recipes keep tokens out of argv", {
  timeout: 2 * START_LIMIT_MS,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), "certmint-p52-argv-"));
  const metricsToken = randomBytes(32).toString("hex");
  const metricsTokenFile = join(dir, "metrics-token");
  /** Every argument the shims were given, one a line. */
  const argvLog = join(dir, "argv.log");
  const shims = join(dir, "bin");
  let live: ServerOnDatabase;
  let metricsPort = "";

  /** A script named `name` in `shims` that logs its arguments, then runs `real` with them. */
  const shim = (name: string, real: string) => {
    const path = join(shims, name);
    writeFileSync(path, `#!/bin/sh\nprintf '%s\\n' "$@" >> "$ARGV_LOG"\nexec '${real}' "$@"\n`);
    chmodSync(path, 0o755);
    return path;
  };
  /** Runs `script` in bash with the shims first on PATH. */
  const bash = (script: string) =>
    spawnSync("bash", ["-c", script], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, PATH: `${shims}:${process.env.PATH ?? ""}`, ARGV_LOG: argvLog },
      timeout: 60_000,
    });

  beforeAll(async () => {
    writeFileSync(metricsTokenFile, `${metricsToken}\n`, { mode: 0o600 });
    mkdirSync(shims);
    // The real curl by its path: the shim, first on PATH, is "curl" too.
    const curl = spawnSync("sh", ["-c", "command -v curl"], { encoding: "utf8" }).stdout.trim();
    if (!curl) throw new Error("no curl on PATH");
    shim("curl", curl);
    live = await startOnFreshDatabase(
      { CERTMINT_METRICS_LISTEN: "127.0.0.1:0", CERTMINT_METRICS_TOKEN_FILE: metricsTokenFile },
      "certmint_p52lf",
    );
    const serving = /"port":(\d+),"msg":"serving Prometheus metrics at \/metrics"/.exec(
      live.server.output(),
    );
    if (!serving) throw new Error(`no metrics port in the log:\n${live.server.output()}`);
    metricsPort = serving[1]!;
  }, START_LIMIT_MS);
  afterAll(async () => {
    if (live) await stopOnDatabase([], live);
    rmSync(dir, { recursive: true, force: true });
  });

  it("GetRequestStatus with the admin token from grpcurl's environment", () => {
    const token = live.server.adminToken();
    const block = shellBlocks("## Talking to certmint with grpcurl")[1];
    expect(block, "the README's GetRequestStatus block").toContain("GetRequestStatus");
    writeFileSync(argvLog, "");
    const r = bash(
      block!
        .replaceAll("127.0.0.1:50051", live.server.address)
        .replaceAll("data/admin-token", join(live.server.dataDir, "admin-token"))
        .replaceAll(GRPCURL, shim("grpcurl", join(ROOT, GRPCURL))),
    );
    // Authenticated: the request is looked up and not found (without the token it would be
    // CREDENTIALS_MISSING).
    expect(r.stdout + r.stderr).toContain('"reason": "CERTIFICATE_REQUEST_NOT_FOUND"');
    const argv = readFileSync(argvLog, "utf8");
    expect(argv).toContain("-expand-headers");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: grpcurl's own ${NAME}, not a template
    expect(argv).toContain("authorization: Bearer ${TOKEN}");
    expect(argv).not.toContain(token);
  });

  it("the by-hand scrape of /metrics with the metrics token", () => {
    const recipe = /`(printf [^`]*\| curl [^`]*\/metrics)`/.exec(README)?.[1];
    expect(recipe, "README: the by-hand curl of /metrics").toBeDefined();
    writeFileSync(argvLog, "");
    const r = bash(
      recipe!
        .replaceAll("/etc/certmint/metrics-token", metricsTokenFile)
        .replaceAll("127.0.0.1:9464", `127.0.0.1:${metricsPort}`),
    );
    expect(r.status, r.stderr).toBe(0);
    // The exposition, not the 401's body.
    expect(r.stdout).toMatch(/^# TYPE certmint_\w+ /m);
    const argv = readFileSync(argvLog, "utf8");
    expect(argv).toContain("@-");
    expect(argv).not.toContain(metricsToken);
  });
});
