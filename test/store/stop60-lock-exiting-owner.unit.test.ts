/**
 * A restart right after the server was killed (SIGKILL) found its lock file naming a process
 * that was still being torn down, and was refused EMBEDDED_DATABASE_IN_USE with exit 2, which a
 * supervisor reads as "do not restart" (an outside probe, stop 60 of 2026-12-08). A process that
 * has exited but is not reaped yet (a zombie) is no owner, and one that is exiting is waited
 * for (src/store/embedded-lock.ts). The exiting window of a real SIGKILL is too short to catch
 * here; a zombie stands for it: a child whose parent never reaps it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { lockEmbeddedDatabase } from "../../src/store/embedded-lock";
import { waitFor } from "../support/wait";

const stateOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
};
const startOf = (pid: number) => {
  const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return `${boot} ${stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]}`;
};

describe("the embedded database's lock and an owner that exited", () => {
  const dir = mkdtempSync(join(tmpdir(), "certmint-lock-zombie-"));
  let parent: ChildProcess | undefined;
  afterAll(() => {
    parent?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("takes over the lock of a process that exited and was not reaped (a zombie)", async () => {
    // The shell starts a child that exits at once, prints its id, and becomes `sleep`, which
    // never reaps it.
    parent = spawn("sh", ["-c", 'sh -c "exit 0" & echo $!; exec sleep 120'], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    let out = "";
    parent.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
    });
    await waitFor("the child's id", () => /\d+\n/.test(out));
    const zombie = Number(out.trim());
    await waitFor("the child to be a zombie", () => stateOf(zombie) === "Z");
    const lockFile = join(dir, "embedded.pid");
    writeFileSync(lockFile, `${zombie}\n${startOf(zombie)}\n`);

    const lock = lockEmbeddedDatabase(dir);
    expect(readFileSync(lockFile, "utf8").split("\n")[0]).toBe(String(process.pid));
    lock.release();
  });
});
