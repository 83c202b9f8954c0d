/**
 * The CLI as it is shipped: `make pack`'s scripts/pack-cli.cjs (it builds the bundle and packs it
 * with packaging/cli/package.json: no dependencies) and `npm install -g` from the tarball into a
 * temporary prefix, offline with an empty cache (nothing to fetch), then the installed
 * `certmint`; and `npx certmint` in the clone. Both run the compiled JavaScript: no tsx, nothing
 * transpiled at run time. `npm pack` of the clone's own package.json (the server's) refuses.
 */
import { execFile } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/server-process";

const run = promisify(execFile);
const NPM_ENV = {
  ...process.env,
  npm_config_update_notifier: "false",
  npm_config_fund: "false",
  npm_config_audit: "false",
};

describe("the certmint package", () => {
  const work = mkdtempSync(join(tmpdir(), "certmint-pack-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("make pack's script packs the CLI alone; npm install -g of it offline gives a `certmint` that runs", async () => {
    // A copy of what the build reads, so that the pack script rebuilds there and never replaces
    // the dist/ that other test files are running at the same time.
    const copy = join(work, "certmint");
    for (const path of [
      "package.json",
      "package-lock.json",
      "README.md",
      "scripts",
      "packaging",
      "src",
      join("gen", "ts"),
    ]) {
      cpSync(join(ROOT, path), join(copy, path), { recursive: true });
    }
    symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
    const out = join(work, "out");
    mkdirSync(out);
    const packed = await run(
      "node",
      [join("scripts", "pack-cli.cjs"), "--json", "--pack-destination", out],
      { cwd: copy, env: NPM_ENV, maxBuffer: 16 << 20 },
    );
    const [manifest] = JSON.parse(packed.stdout) as Array<{
      filename: string;
      files: Array<{ path: string; mode: number }>;
    }>;
    expect(manifest!.filename).toBe("certmint-0.1.0.tgz");
    expect(manifest!.files.map((f) => f.path).sort()).toEqual([
      "README.md",
      "certmint.js",
      "package.json",
    ]);
    expect(manifest!.files.find((f) => f.path === "certmint.js")!.mode & 0o111).toBe(0o111);

    const prefix = join(work, "prefix");
    // No dependencies: it installs offline from an empty cache.
    await run(
      "npm",
      [
        "install",
        "--global",
        "--prefix",
        prefix,
        "--offline",
        "--cache",
        join(work, "empty-npm-cache"),
        join(out, manifest!.filename),
      ],
      { env: NPM_ENV, maxBuffer: 16 << 20 },
    );
    const installed = join(prefix, "lib", "node_modules", "certmint");
    expect(existsSync(join(installed, "node_modules"))).toBe(false);
    const pkg = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"));
    expect(pkg.dependencies).toBeUndefined();
    expect(pkg.engines).toEqual({ node: ">=20.0.0" });
    const certmint = join(prefix, "bin", "certmint");
    const help = await run(certmint, ["--help"], { cwd: work });
    expect(help.stdout).toContain("Usage: certmint <command> <subcommand> [options]");
    expect((await run(certmint, ["cert", "issue", "--help"], { cwd: work })).stdout).toContain(
      "--key-out FILE",
    );

    // It talks gRPC: against a port nothing listens on, the connection error and its hint.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    const failed = await run(certmint, ["--server", `127.0.0.1:${port}`, "ca", "list"], {
      cwd: work,
    }).catch((e) => e);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^certmint: UNAVAILABLE: /);

    // `npm pack` of the clone itself would ship the server's dependencies: it refuses.
    const refused = await run("npm", ["pack", "--pack-destination", out], {
      cwd: copy,
      env: NPM_ENV,
    }).catch((e) => e);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("make pack");
  }, 300_000);

  it("npx certmint runs the clone's CLI, from the clone and from a directory inside it", async () => {
    for (const cwd of [ROOT, join(ROOT, "test")]) {
      const r = await run("npx", ["certmint", "ca", "--help"], { cwd, env: NPM_ENV });
      expect(r.stdout).toContain("Usage: certmint ca <subcommand> [options]");
    }
  }, 120_000);
});
