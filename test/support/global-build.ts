import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..");
const DIST = join(ROOT, "dist");
const STAMP = join(DIST, ".test-build-stamp");
const MAIN = join(DIST, "src", "main.js");
const BUILD_INFO = join(DIST, "tsconfig.tsbuildinfo");

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
  const stamp = readStamp();
  if (stamp && upToDate(stamp)) return;
  mkdirSync(DIST, { recursive: true });
  const started = new Date();
  const tsc = [
    process.execPath,
    join(ROOT, "node_modules", "typescript", "bin", "tsc"),
    "-p",
    "tsconfig.json",
    "--incremental",
    "--tsBuildInfoFile",
    BUILD_INFO,
  ];
  // tsc --incremental trusts its build info to know what dist/ holds. Another build into dist/
  // since ours (a plain `tsc -p tsconfig.json`) leaves it stale, and an edit undone since then
  // would not be emitted again: then, and without a stamp of ours, build everything.
  const full = !stamp || stamp.mainMtimeMs !== mainMtimeMs();
  const build = full ? ["sh", "-c", 'rm -f "$0" && exec "$@"', BUILD_INFO, ...tsc] : tsc;
  const [command, ...args] = hasFlock() ? ["flock", join(DIST, ".build.lock"), ...build] : build;
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
  // The stamp carries the build's start time (a file edited during the build is newer) and what
  // the build left in dist/src/main.js (so a later build by anything else shows).
  writeFileSync(STAMP, JSON.stringify({ mainMtimeMs: mainMtimeMs() } satisfies Stamp));
  utimesSync(STAMP, started, started);
}

interface Stamp {
  mainMtimeMs: number | undefined;
}

function readStamp(): (Stamp & { builtMs: number }) | undefined {
  try {
    const stamp = JSON.parse(readFileSync(STAMP, "utf8")) as Stamp;
    return { ...stamp, builtMs: statSync(STAMP).mtimeMs };
  } catch {
    return undefined;
  }
}

const mainMtimeMs = () => (existsSync(MAIN) ? statSync(MAIN).mtimeMs : undefined);

/**
 * dist/src/main.js is what our last build left, and the stamp is newer than every input file
 * and directory (a deleted file changes its directory).
 */
function upToDate(stamp: Stamp & { builtMs: number }): boolean {
  if (stamp.mainMtimeMs === undefined || stamp.mainMtimeMs !== mainMtimeMs()) return false;
  const newer = (path: string): boolean => {
    const st = statSync(path);
    if (st.mtimeMs > stamp.builtMs) return true;
    return st.isDirectory() && readdirSync(path).some((name) => newer(join(path, name)));
  };
  return !INPUTS.some((input) => newer(join(ROOT, input)));
}

function hasFlock(): boolean {
  return spawnSync("flock", ["--version"], { stdio: "ignore" }).status === 0;
}
