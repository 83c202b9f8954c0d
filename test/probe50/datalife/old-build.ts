/**
 * An earlier certmint build, as an operator ran it before an upgrade: the tree of an older commit
 * of this repository (`git archive`), compiled with its own scripts/build-server.cjs against this
 * tree's node_modules (the dependencies of the builds probed are the same), and started as a
 * process. Undefined when the repository's history does not hold that commit (a shallow clone).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, START_LIMIT_MS } from "../../support/server-process";

export interface OldBuild {
  commit: string;
  dir: string;
  /** Its server's entry point. */
  entry: string;
}

/** Builds `commit`'s server in a new temporary directory; undefined without that commit. */
export function buildOldCommit(commit: string): OldBuild | undefined {
  const known = spawnSync("git", ["-C", ROOT, "cat-file", "-e", `${commit}^{commit}`]);
  if (known.status !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "certmint-old-build-"));
  mkdirSync(join(dir, "tree"));
  const tree = join(dir, "tree");
  const archive = spawnSync("sh", [
    "-c",
    `git -C "${ROOT}" archive "${commit}" | tar -x -C "${tree}"`,
  ]);
  if (archive.status !== 0) throw new Error(`git archive ${commit}: ${archive.stderr}`);
  symlinkSync(join(ROOT, "node_modules"), join(tree, "node_modules"));
  const build = spawnSync(process.execPath, ["scripts/build-server.cjs"], {
    cwd: tree,
    encoding: "utf8",
  });
  const entry = join(tree, "dist", "src", "main.js");
  if (build.status !== 0 || !existsSync(entry)) {
    throw new Error(`building ${commit} failed:\n${build.stdout}${build.stderr}`);
  }
  return { commit, dir, entry };
}

export interface OldServer {
  child: ChildProcess;
  address: string;
  output(): string;
  stop(): Promise<number | null>;
}

/** Starts the old build's server and waits until it serves (its JSON log says so). */
export function startOldServer(build: OldBuild, env: Record<string, string>): Promise<OldServer> {
  const child = spawn(process.execPath, [build.entry], {
    cwd: join(build.dir, "tree"),
    env: { ...process.env, CERTMINT_LISTEN: "127.0.0.1:0", CERTMINT_LOG_FORMAT: "json", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the old build did not start:\n${out}`));
    }, START_LIMIT_MS);
    const check = () => {
      const listening = /"address":"([^"]+)","msg":"listening"/.exec(out);
      if (listening && out.includes('"msg":"serving"')) {
        clearTimeout(timer);
        resolve({
          child,
          address: listening[1]!,
          output: () => out,
          stop: async () => {
            if (child.exitCode === null) child.kill("SIGTERM");
            return exited;
          },
        });
      }
    };
    child.stdout?.on("data", check);
    child.on("exit", () => {
      clearTimeout(timer);
      reject(new Error(`the old build exited during start-up:\n${out}`));
    });
  });
}
