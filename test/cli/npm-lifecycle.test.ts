/**
 * The root package.json is the server: `npm install <git URL>` of the repository, and `npm pack`
 * of a clone, are refused with what to do instead (make pack, and where its tarball appears),
 * while `npm install` in the clone goes on (packaging/npm-lifecycle.cjs). The scripts run here
 * as package.json has them, in the environment npm gives them (recorded from npm 11 installing a
 * git dependency: pacote's git fetcher runs `npm install --force` in a clone in its cache with
 * _PACOTE_NO_PREPARE_ set, then packs that clone for the installing project; npm 6, yarn and pnpm
 * run prepack there instead). Until stop 42 of 2026-12-06 the refusal did not say where to run
 * make pack or where the tarball appears.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/server-process";

const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  version: string;
  scripts: Record<string, string>;
};
const TGZ = `certmint-${manifest.version}.tgz`;
const GIT_URL = "git+https://git.example.com/certmint.git#0123456789abcdef0123456789abcdef01234567";

/** npm's script runner: `sh -c <script>` in the package's directory, with npm's variables only. */
function runScript(command: string, event: string, npmEnv: Record<string, string>) {
  const r = spawnSync("sh", ["-c", command], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      npm_lifecycle_event: event,
      npm_lifecycle_script: command,
      npm_package_name: "certmint",
      npm_package_version: manifest.version,
      npm_package_json: join(ROOT, "package.json"),
      npm_execpath: "/usr/lib/node_modules/npm/bin/npm-cli.js",
      npm_config_user_agent: "npm/11.6.2 node/v20.19.5 linux x64 workspaces/false",
      ...npmEnv,
    },
    encoding: "utf8",
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** What every refusal says to do instead. */
function expectInstructions(stderr: string) {
  expect(stderr).toContain("make pack");
  expect(stderr).toContain(
    `make pack (scripts/pack-cli.cjs, packaging/cli/package.json) writes ${TGZ} in the clone's top directory`,
  );
  expect(stderr).toContain(`npm install -g ./${TGZ}`);
  expect(stderr).toContain("git clone");
}

describe("the root package.json's lifecycle scripts", () => {
  const consumer = mkdtempSync(join(tmpdir(), "certmint-consumer-"));
  afterAll(() => rmSync(consumer, { recursive: true, force: true }));

  it("prepack, in a git install (npm 6, yarn, pnpm: the clone packed for another project): exit 1, says make pack", () => {
    const r = runScript(manifest.scripts.prepack!, "prepack", {
      npm_command: "install",
      INIT_CWD: consumer,
      npm_package_resolved: ROOT,
      npm_config_local_prefix: consumer,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("certmint: installing certmint from a git URL is not supported");
    expectInstructions(r.stderr);
    expect(r.stdout).toBe("");
  });

  it("prepack, in npm's preparation of a git dependency (_PACOTE_NO_PREPARE_): exit 1", () => {
    const r = runScript(manifest.scripts.prepack!, "prepack", {
      npm_command: "install",
      INIT_CWD: ROOT,
      _PACOTE_NO_PREPARE_: GIT_URL,
      npm_config_force: "true",
      npm_config_include: "dev",
      npm_config_local_prefix: ROOT,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("certmint: installing certmint from a git URL is not supported");
    expectInstructions(r.stderr);
  });

  it("prepack of `npm pack` in a clone: exit 1, says make pack", () => {
    const r = runScript(manifest.scripts.prepack!, "prepack", {
      npm_command: "pack",
      INIT_CWD: ROOT,
      npm_config_local_prefix: ROOT,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("certmint: this package.json is the server");
    expectInstructions(r.stderr);
  });

  describe("prepare (npm 7 and later run it, not prepack, for a git install)", () => {
    const prepare = "node packaging/npm-lifecycle.cjs prepare";

    it.each([
      [
        "npm install --force in npm's clone",
        { npm_command: "install", INIT_CWD: ROOT, _PACOTE_NO_PREPARE_: GIT_URL },
      ],
      [
        "the clone packed for the installing project",
        { npm_command: "install", INIT_CWD: "", npm_package_resolved: ROOT },
      ],
    ])("%s: exit 1, says make pack", (_, npmEnv) => {
      const r = runScript(prepare, "prepare", {
        ...npmEnv,
        INIT_CWD: npmEnv.INIT_CWD || consumer,
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("certmint: installing certmint from a git URL is not supported");
      expectInstructions(r.stderr);
    });

    it("npm install (or npm ci) in the clone itself goes on: exit 0, silent", () => {
      for (const cwd of [ROOT, join(ROOT, "test")]) {
        const r = runScript(prepare, "prepare", {
          npm_command: "install",
          INIT_CWD: cwd,
          npm_config_local_prefix: ROOT,
        });
        expect(r.code).toBe(0);
        expect(r.stderr).toBe("");
      }
    });
  });
});
