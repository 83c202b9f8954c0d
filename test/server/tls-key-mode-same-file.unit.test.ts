/**
 * The TLS key file's mode is judged on the file whose key is served: readTlsFiles and
 * readTlsFilesSync take the bytes and the mode through one descriptor. Until stop 43 of
 * 2026-12-06 the path was stat'ed, then read by path again, so a key renamed into place between
 * the two (a renewal job's rename, or anyone with write access to the directory) was loaded
 * with the previous file's mode judged: a world-readable key passed as 0600.
 *
 * The second case races a child process that renames two key files into place in a tight loop
 * (one 0600, one 0644, different bytes) against many reads: every read's mode must be the
 * mode of the bytes it returned. With a stat of the path before the read that pairing breaks
 * whenever a rename falls between them; through one descriptor it cannot break, however the
 * machine schedules the two processes (no timing is assumed: the loop counts reads, not time).
 */
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, copyFileSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { TlsConfig } from "../../src/config";
import { readTlsFiles, readTlsFilesSync } from "../../src/server/tls-files";
import { TempDir } from "../support/openssl";

const dir = new TempDir();
afterAll(() => dir.remove());

const configFor = (certFile: string, keyFile: string) =>
  ({ certFile, keyFile, requireClientCert: false, reloadIntervalMs: 1000 }) as TlsConfig;

describe("the TLS key file's mode", () => {
  it("is the mode of the file read, sync and async", async () => {
    const cert = join(dir.path, "cert.pem");
    const key = join(dir.path, "key.pem");
    writeFileSync(cert, "certificate bytes");
    writeFileSync(key, "key bytes");
    for (const mode of [0o600, 0o400, 0o640, 0o644]) {
      chmodSync(key, mode);
      expect(readTlsFilesSync(configFor(cert, key)).keyMode).toBe(mode);
      expect((await readTlsFiles(configFor(cert, key))).keyMode).toBe(mode);
    }
  });

  it("always pairs with the bytes returned while keys are renamed into place", async () => {
    const cert = join(dir.path, "race-cert.pem");
    const live = join(dir.path, "race-key.pem");
    const privateOne = join(dir.path, "private.pem");
    const sharedOne = join(dir.path, "shared.pem");
    writeFileSync(cert, "certificate bytes");
    writeFileSync(privateOne, "PRIVATE 0600");
    chmodSync(privateOne, 0o600);
    writeFileSync(sharedOne, "SHARED 0644");
    chmodSync(sharedOne, 0o644);
    copyFileSync(privateOne, live);
    chmodSync(live, 0o600);
    const expected: Record<string, number> = { "PRIVATE 0600": 0o600, "SHARED 0644": 0o644 };

    // Renames a fresh copy of each file into place, alternately, until killed.
    const renamer = spawn(
      process.execPath,
      [
        "-e",
        `const fs = require("node:fs");
         const [live, a, b] = process.argv.slice(1);
         let i = 0;
         for (;;) {
           const from = i++ % 2 ? a : b;
           const tmp = live + ".tmp";
           fs.copyFileSync(from, tmp);
           fs.chmodSync(tmp, fs.statSync(from).mode & 0o777);
           fs.renameSync(tmp, live);
           if (i === 50) process.stdout.write("renaming\\n");
         }`,
        live,
        privateOne,
        sharedOne,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      await new Promise<void>((resolve) => renamer.stdout.once("data", () => resolve()));
      const seen = new Set<string>();
      // At least 4,000 reads, and on until both files have been read (a count, not a time).
      for (let i = 0; i < 4000 || seen.size < 2; i++) {
        const files =
          i % 2
            ? readTlsFilesSync(configFor(cert, live))
            : await readTlsFiles(configFor(cert, live));
        const bytes = files.key.toString();
        seen.add(bytes);
        expect(files.keyMode, `read ${i}: ${bytes}`).toBe(expected[bytes]);
      }
    } finally {
      renamer.kill("SIGKILL");
    }
  });

  it("is read only from a regular file of bounded size: a device, a FIFO or a huge file is refused before a byte is read", async () => {
    // Until a review of stop 43 of 2026-12-06 a key path pointing at /dev/zero was read until
    // memory ran out, and a FIFO blocked every later reload.
    const cert = join(dir.path, "bounded-cert.pem");
    writeFileSync(cert, "certificate bytes");
    const device = join(dir.path, "device.pem");
    symlinkSync("/dev/zero", device);
    const fifo = join(dir.path, "fifo.pem");
    execFileSync("mkfifo", ["-m", "0600", fifo]);
    const huge = join(dir.path, "huge.pem");
    writeFileSync(huge, "");
    truncateSync(huge, 2 << 20);
    chmodSync(huge, 0o600);
    for (const [key, why] of [
      [device, /is not a regular file/],
      [fifo, /is not a regular file/],
      [huge, /is 2097152 bytes, more than the 1048576/],
    ] as const) {
      expect(() => readTlsFilesSync(configFor(cert, key)), key).toThrow(why);
      await expect(readTlsFiles(configFor(cert, key)), key).rejects.toThrow(why);
    }
  });
});
