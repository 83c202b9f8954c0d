/**
 * The root package.json is the server: `npm install <git URL>` of the repository, and `npm pack`
 * of a clone, are refused with what to do instead (make pack, and where its tarball appears),
 * while `npm install` in the clone goes on (packaging/npm-lifecycle.cjs). The scripts run here
 * as package.json has them, in the environment npm gives them (recorded from npm 11 installing a
 * git dependency: pacote's git fetcher runs `npm install --force` in a clone in its cache with
 * _PACOTE_NO_PREPARE_ set, then packs that clone for the installing project; npm 6, yarn and pnpm
 * run prepack there instead). Until stop 42 of 2026-12-06 the refusal did not say where to run
 * make pack or where the tarball appears. Until stop 44 of 2026-12-06 a directory install
 * (`npm install /path/to/certmint`, linked or --install-links, npm install -g of the clone, a
 * directory dependency installed under a git dependency's preparation, which inherits
 * _PACOTE_NO_PREPARE_) was refused with the git message; the last describe runs npm itself.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
function runScript(command: string, event: string, npmEnv: Record<string, string>, cwd = ROOT) {
  const r = spawnSync("sh", ["-c", command], {
    cwd,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      npm_lifecycle_event: event,
      npm_lifecycle_script: command,
      npm_package_name: "certmint",
      npm_package_version: manifest.version,
      npm_package_json: join(cwd, "package.json"),
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

/** A directory install's refusal: make pack in that directory, not a clone to make. */
function expectDirectoryRefusal(r: { code: number | null; stderr: string }, dir = ROOT) {
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`certmint: installing certmint from a directory (`);
  expect(r.stderr).toContain(`here ${dir}) is not supported`);
  expect(r.stderr).not.toContain("from a git URL");
  expect(r.stderr).toContain(`  cd ${dir} && make pack`);
  expect(r.stderr).toContain(`npm install -g ${join(dir, TGZ)}`);
}

/** A copy of the package's lifecycle part (package.json, packaging/npm-lifecycle.cjs) in dir. */
function copyPackage(dir: string, scripts = manifest.scripts) {
  mkdirSync(join(dir, "packaging"), { recursive: true });
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({
      name: "certmint",
      version: manifest.version,
      scripts: { prepack: scripts.prepack, prepare: scripts.prepare },
    }),
  );
  copyFileSync(
    join(ROOT, "packaging", "npm-lifecycle.cjs"),
    join(dir, "packaging", "npm-lifecycle.cjs"),
  );
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
    ])("%s: exit 1, says make pack", (_, npmEnv) => {
      const r = runScript(prepare, "prepare", {
        ...npmEnv,
        INIT_CWD: npmEnv.INIT_CWD || consumer,
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("certmint: installing certmint from a git URL is not supported");
      expectInstructions(r.stderr);
    });

    // Where pacote's git fetcher prepares a git dependency: <npm cache>/_cacache/tmp/git-clone<random>
    // (recorded from npm 11.19.1 installing git+file://): first `npm install --force` started there
    // with _PACOTE_NO_PREPARE_, then its directory fetcher's prepare for the installing project.
    it.each([
      ["npm install --force in npm's clone", "first"],
      ["the clone packed for the installing project", "second"],
    ])("in npm's cache clone, %s: exit 1, the git message", (_, phase) => {
      const cache = join(consumer, "npm-cache");
      const clone = join(cache, "_cacache", "tmp", "git-cloneq7ZfRk");
      copyPackage(clone);
      const npmEnv: Record<string, string> =
        phase === "first"
          ? {
              INIT_CWD: clone,
              npm_config_local_prefix: clone,
              _PACOTE_NO_PREPARE_: GIT_URL,
              npm_config_force: "true",
            }
          : { INIT_CWD: consumer, npm_config_local_prefix: consumer, npm_package_resolved: clone };
      for (const withCache of [true, false]) {
        const r = runScript(
          prepare,
          "prepare",
          { npm_command: "install", ...npmEnv, ...(withCache ? { npm_config_cache: cache } : {}) },
          clone,
        );
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("certmint: installing certmint from a git URL is not supported");
        expectInstructions(r.stderr);
      }
    });

    // Directory installs (recorded from npm 11.19.1): linked (npm_package_resolved "null"), packed
    // by pacote's directory fetcher (--install-links: npm_package_resolved is the directory), global.
    it.each([
      [
        "npm install <path> (linked)",
        () => ({
          INIT_CWD: consumer,
          npm_config_local_prefix: consumer,
          npm_package_resolved: "null",
        }),
      ],
      [
        "npm install --install-links <path>",
        () => ({
          INIT_CWD: consumer,
          npm_config_local_prefix: consumer,
          npm_package_resolved: ROOT,
        }),
      ],
      [
        "npm install -g . in the clone",
        () => ({
          INIT_CWD: ROOT,
          npm_config_local_prefix: join(consumer, "g"),
          npm_config_global: "true",
          npm_package_resolved: "null",
        }),
      ],
      [
        "a file: dependency of a git dependency being prepared (_PACOTE_NO_PREPARE_ inherited)",
        () => ({
          INIT_CWD: join(consumer, "npm-cache", "_cacache", "tmp", "git-cloneOther1"),
          npm_config_local_prefix: join(
            consumer,
            "npm-cache",
            "_cacache",
            "tmp",
            "git-cloneOther1",
          ),
          npm_config_cache: join(consumer, "npm-cache"),
          _PACOTE_NO_PREPARE_: GIT_URL.replace("certmint", "other"),
          npm_package_resolved: "null",
        }),
      ],
    ])("%s: exit 1, the directory message (not the git one)", (_, npmEnv) => {
      const r = runScript(prepare, "prepare", { npm_command: "install", ...npmEnv() });
      expectDirectoryRefusal(r);
    });

    it("npx certmint in the clone (npm 11.19 installs the clone, linked, into its npx cache to run its own bin) goes on: exit 0, silent", () => {
      for (const cwd of [ROOT, join(ROOT, "test")]) {
        const r = runScript(prepare, "prepare", {
          npm_command: "exec",
          INIT_CWD: cwd,
          npm_config_local_prefix: ROOT,
          npm_package_resolved: "null",
          npm_config_user_agent: "npm/11.19.1 node/v20.20.2 linux x64 workspaces/false",
        });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toBe("");
      }
    });

    it("npx <path to a clone> from another project: refused with the directory message", () => {
      const r = runScript(prepare, "prepare", {
        npm_command: "exec",
        INIT_CWD: consumer,
        npm_config_local_prefix: consumer,
        npm_package_resolved: "null",
      });
      expectDirectoryRefusal(r);
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

/**
 * npm itself (the npm on PATH, offline, its own cache) installing a copy of the package's lifecycle
 * part (package.json's scripts, packaging/npm-lifecycle.cjs: no dependencies) from a directory and
 * from a git URL, so pacote's real environment is what is told apart, not a recording of it.
 */
describe("npm install of the package, by npm itself", () => {
  const work = mkdtempSync(join(tmpdir(), "certmint-npm-"));
  const pkg = join(work, "certmint");
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const git = (...args: string[]) => {
    const r = spawnSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], {
      cwd: pkg,
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
  };
  copyPackage(pkg);
  git("init", "-q");
  git("add", "-A");
  git("commit", "-qm", "lifecycle");

  function npmInstall(name: string, args: string[]) {
    const consumer = join(work, name);
    mkdirSync(consumer, { recursive: true });
    writeFileSync(
      join(consumer, "package.json"),
      JSON.stringify({ name: `consumer-${name}`, version: "1.0.0" }),
    );
    const r = spawnSync("npm", ["install", "--offline", "--no-audit", "--no-fund", ...args], {
      cwd: consumer,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: work,
        npm_config_cache: join(work, "npm-cache"),
        npm_config_update_notifier: "false",
      },
      encoding: "utf8",
    });
    return { code: r.status, stderr: `${r.stdout}${r.stderr}`.replace(/^npm error /gm, "") };
  }

  it("npm install <directory> (linked): refused with the directory message", () => {
    expectDirectoryRefusal(npmInstall("link", [pkg]), pkg);
  });

  it("npm install --install-links <directory>: refused with the directory message", () => {
    expectDirectoryRefusal(npmInstall("install-links", ["--install-links", pkg]), pkg);
  });

  it("npm install git+file://: refused with the git message", () => {
    const r = npmInstall("git", [`git+file://${pkg}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("certmint: installing certmint from a git URL is not supported");
    expect(r.stderr).not.toContain("from a directory");
    expectInstructions(r.stderr);
  });

  it("npm install in the package itself goes on", () => {
    const r = spawnSync("npm", ["install", "--offline", "--no-audit", "--no-fund"], {
      cwd: pkg,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: work,
        npm_config_cache: join(work, "npm-cache"),
        npm_config_update_notifier: "false",
      },
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("certmint:");
  });
});
