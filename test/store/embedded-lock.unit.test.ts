/**
 * The embedded database's lock file (src/store/embedded-lock.ts) under a takeover race. An
 * outside probe (2026-12-05) slowed one start's unlink with strace: two starts after a crash
 * both read the dead owner's id, the first replaced the file with its own, and the second then
 * unlinked that fresh lock and made its own. Both servers ran on one database; certificates
 * issued by one were lost after a restart and their request ids issued again.
 *
 * The race is made deterministic with the lock's test hook, which runs between reading the
 * dead owner's file and taking it over: there, "another start" takes it over first.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lockEmbeddedDatabase } from "../../src/store/embedded-lock";

/** When process `pid` started, as the lock file says it: boot id, then field 22 of its stat. */
function startOf(pid: number): string {
  const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return `${boot} ${stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]}`;
}

/** This process's lock file. */
const mine = () => `${process.pid}\n${startOf(process.pid)}\n`;

/** The id of a process that has exited (ids are not reused this fast on Linux). */
function deadPid(): number {
  const done = spawnSync(process.execPath, ["-e", "0"]);
  return done.pid!;
}

describe("the embedded lock file", () => {
  let dir = "";
  let lockFile = "";
  let other: ChildProcess | undefined;

  beforeAll(() => {
    // Another live process, standing in for the start that won the race.
    other = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  });
  afterAll(() => {
    other?.kill("SIGKILL");
  });

  const fresh = () => {
    dir = mkdtempSync(join(tmpdir(), "certmint-lock-"));
    lockFile = join(dir, "embedded.pid");
  };
  const cleanUp = () => rmSync(dir, { recursive: true, force: true });

  it("takes over a dead owner's file, and leaves no temporary file behind", () => {
    fresh();
    try {
      writeFileSync(lockFile, `${deadPid()}\n`);
      const lock = lockEmbeddedDatabase(dir);
      expect(readFileSync(lockFile, "utf8")).toBe(mine());
      expect(readdirSync(dir)).toEqual(["embedded.pid"]);
      lock.release();
      expect(existsSync(lockFile)).toBe(false);
    } finally {
      cleanUp();
    }
  });

  it("never removes the lock of a start that took the dead owner's file over first", () => {
    fresh();
    try {
      writeFileSync(lockFile, `${deadPid()}\n`);
      const winner = other!.pid!;
      expect(() =>
        lockEmbeddedDatabase(dir, {
          beforeTakeover: () => {
            // The other start: it unlinked the dead owner's file and made its own.
            unlinkSync(lockFile);
            writeFileSync(lockFile, `${winner}\n`);
          },
        }),
      ).toThrow(`in use by another certmint (process ${winner})`);
      expect(readFileSync(lockFile, "utf8")).toBe(`${winner}\n`);
      expect(readdirSync(dir)).toEqual(["embedded.pid"]);
    } finally {
      cleanUp();
    }
  });

  it("takes over an empty file only once it is old (an older certmint killed while writing it)", () => {
    fresh();
    try {
      writeFileSync(lockFile, "");
      const old = new Date(Date.now() - 60_000);
      utimesSync(lockFile, old, old);
      const lock = lockEmbeddedDatabase(dir);
      expect(readFileSync(lockFile, "utf8")).toBe(mine());
      lock.release();
    } finally {
      cleanUp();
    }
  });

  it("a takeover directory left by a start that died while taking over does not block for good", () => {
    fresh();
    try {
      writeFileSync(lockFile, `${deadPid()}\n`);
      const guard = `${lockFile}.takeover`;
      rmSync(guard, { force: true, recursive: true });
      mkdirSync(guard);
      const old = new Date(Date.now() - 60_000);
      utimesSync(guard, old, old);
      const lock = lockEmbeddedDatabase(dir);
      expect(readFileSync(lockFile, "utf8")).toBe(mine());
      expect(existsSync(guard)).toBe(false);
      lock.release();
    } finally {
      cleanUp();
    }
  });

  it("takes over a file whose process id another program has now (a reboot, a copy), not one its writer holds", () => {
    fresh();
    try {
      const live = other!.pid!;
      // What a server that ran before the last boot wrote, or one another machine's copy names.
      const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
      writeFileSync(lockFile, `${live}\n${boot} 1\n`);
      const lock = lockEmbeddedDatabase(dir);
      expect(readFileSync(lockFile, "utf8")).toBe(mine());
      lock.release();

      // The same process, as it wrote it: in use.
      writeFileSync(lockFile, `${live}\n${startOf(live)}\n`);
      expect(() => lockEmbeddedDatabase(dir)).toThrow(
        `in use by another certmint (process ${live})`,
      );
      expect(readFileSync(lockFile, "utf8")).toBe(`${live}\n${startOf(live)}\n`);

      // An older certmint's file (no start): judged by the id alone, as before.
      writeFileSync(lockFile, `${live}\n`);
      expect(() => lockEmbeddedDatabase(dir)).toThrow(
        `in use by another certmint (process ${live})`,
      );
    } finally {
      cleanUp();
    }
  });
});
