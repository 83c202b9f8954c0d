import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..");
const DIST = join(ROOT, "dist");
const STAMP = join(DIST, ".test-build-stamp");

/**
 * What the compiled code the tests run depends on: the server (src/, gen/ts/), the TypeScript
 * client program (test/clients/ts/), the compiler settings and the locked dependencies. Other
 * test files run in vitest from source, so editing them needs no build.
 */
const INPUTS = ["src", "gen/ts", "test/clients/ts", "tsconfig.json", "package-lock.json"];

/**
 * vitest globalSetup: the tests start certmint as `node dist/src/main.js` (the compiled server,
 * as `make run` runs it), so that every server process does not transpile the sources again.
 * This builds dist/ with `tsc -p tsconfig.json`, incrementally, when an input changed since the
 * last build; under flock, so two runs in one tree do not write dist/ at the same time.
 */
export default function setup(): void {
  buildDist();
}

export function buildDist(): void {
  if (upToDate()) return;
  mkdirSync(DIST, { recursive: true });
  const started = new Date();
  const tsc = [
    process.execPath,
    join(ROOT, "node_modules", "typescript", "bin", "tsc"),
    "-p",
    "tsconfig.json",
    "--incremental",
  ];
  const [command, ...args] = hasFlock() ? ["flock", join(DIST, ".build.lock"), ...tsc] : tsc;
  const res = spawnSync(command!, args, { cwd: ROOT, encoding: "utf8" });
  if (res.error) throw res.error;
  // tsc exits 2 when it found type errors but emitted anyway: the tests run what tsx ran before
  // (`make lint` is where type errors fail); 1 means nothing was emitted.
  if (res.status === 2) {
    console.warn(
      `tsc reported type errors (see make lint); the tests run the emitted code:\n${res.stdout}`,
    );
  } else if (res.status !== 0) {
    throw new Error(`building dist/ failed (tsc exit ${res.status}):\n${res.stdout}${res.stderr}`);
  }
  // The stamp carries the build's start time: a file edited during the build is newer.
  writeFileSync(STAMP, "");
  utimesSync(STAMP, started, started);
}

/** The stamp is newer than every input file and directory (a deleted file changes its directory). */
function upToDate(): boolean {
  if (!existsSync(STAMP) || !existsSync(join(DIST, "src", "main.js"))) return false;
  const built = statSync(STAMP).mtimeMs;
  const newer = (path: string): boolean => {
    const st = statSync(path);
    if (st.mtimeMs > built) return true;
    return st.isDirectory() && readdirSync(path).some((name) => newer(join(path, name)));
  };
  return !INPUTS.some((input) => newer(join(ROOT, input)));
}

function hasFlock(): boolean {
  return spawnSync("flock", ["--version"], { stdio: "ignore" }).status === 0;
}
