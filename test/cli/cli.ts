/**
 * Runs the built CLI (dist/cli/certmint.js, compiled by vitest's globalSetup with
 * scripts/build-server.cjs, as `make build` does) as a user would: a child process with its own
 * environment and working directory. Asynchronous, so a server in the test's own process keeps
 * answering while the CLI waits for it.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../support/server-process";

export const CLI = join(ROOT, "dist", "cli", "certmint.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Added to a minimal environment (PATH and HOME only: no CERTMINT_* from the test run). */
  env?: Record<string, string>;
  cwd?: string;
  input?: string;
}

export function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  child.stdin.end(options.input ?? "");
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The result of a command that must succeed; fails with its output otherwise. */
export function ok(r: CliResult): CliResult {
  if (r.code !== 0) throw new Error(`certmint exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
  return r;
}

/** The JSON a successful `--output json` command printed. */
export function json<T = Record<string, unknown>>(r: CliResult): T {
  return JSON.parse(ok(r).stdout) as T;
}

/** The CLI against one server, run in a working directory of its own. */
export interface CliSession {
  dir: string;
  run(args: readonly string[], options?: RunOptions): Promise<CliResult>;
  /** Runs and parses `--output json`; fails unless it succeeded. */
  json<T = Record<string, unknown>>(args: readonly string[], options?: RunOptions): Promise<T>;
  remove(): void;
}

/**
 * Talks to `address` with the admin token of the server's data directory (--data-dir: the
 * local admin token, sent only because the address is loopback), in a fresh temp directory.
 */
export function cliSession(address: string, dataDir: string): CliSession {
  const dir = mkdtempSync(join(tmpdir(), "certmint-cli-"));
  const run = (args: readonly string[], options: RunOptions = {}) =>
    runCli(["--server", address, "--data-dir", dataDir, ...args], { cwd: dir, ...options });
  return {
    dir,
    run,
    json: async (args, options) => json(await run([...args, "--output", "json"], options)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The permission bits of a file, e.g. 0o600. */
export function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}
