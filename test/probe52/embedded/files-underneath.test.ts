/**
 * Stop-52 outside probe: the embedded default's data directory on a read-only mount (EROFS, what
 * a disk error makes ext4 do, not the EACCES of a chmod that
 * test/probe49/emb/data-dir-outage.test.ts covers) at start-up, and its lock
 * file (embedded.pid) removed under it (README: "Once one is gone or replaced, the answer is
 * dropped ... the server stops"). What a PKI service must do either way: never answer OK for a
 * certificate it cannot keep, answer UNAVAILABLE (never INTERNAL), and what it answered OK is
 * there after a restart.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { mountSmallDisk } from "../../probe/disk-full-support";
import {
  closeClients,
  createRootProfile,
  EMBEDDED,
  generatedKeyRequest,
  startEmbedded,
} from "../../probe49/emb/support";
import { type CertmintClients, call, decodeError, makeClients } from "../../support/harness";
import {
  ROOT,
  type ServerProcess,
  START_LIMIT_MS,
  serverCommand,
} from "../../support/server-process";
import { waitFor } from "../../support/wait";

/** One issuance: its serial when answered OK, or its code and message. */
async function issue(c: CertmintClients, name: string) {
  try {
    const res = await call(
      c.certificates,
      "issueCertificate",
      generatedKeyRequest("web", name, `${name}.example.com`),
    );
    return { id: res.certificate!.certificateId };
  } catch (err) {
    const e = decodeError(err);
    return { code: e.code, message: e.message };
  }
}

const disk = mountSmallDisk("cm-probe52-ro", "128m");

describe.skipIf(typeof disk === "string")(
  "probe52 EMBEDDED: files under the running embedded server",
  {
    timeout: 3 * START_LIMIT_MS,
  },
  () => {
    const servers: ServerProcess[] = [];
    const clients: CertmintClients[] = [];
    afterAll(async () => {
      for (const c of clients) closeClients(c);
      for (const s of servers) await s.stop("SIGKILL");
      if (typeof disk !== "string") {
        execFileSync("mount", ["-o", "remount,rw", disk.dir], { stdio: "pipe" });
        disk.remove();
      }
    });

    it("a start on a data directory whose mount is read-only: refused in one line naming it, exit 2, no stack trace; once writable it serves what it had", async () => {
      if (typeof disk === "string") return;
      // A mount cannot be made read-only while the server holds its files open for writing (the
      // kernel answers EBUSY), so the read-only case a running server meets is the kernel's own
      // after a disk error, which a test cannot cause; a start on a read-only mount it can.
      const dataDir = join(disk.dir, "data");
      let server = await startEmbedded(dataDir);
      servers.push(server);
      let c = makeClients(server.address, server.adminToken());
      clients.push(c);
      await createRootProfile(c, "Read-only Root");
      const before = await issue(c, "before-ro");
      expect(before.id).toBeDefined();
      closeClients(c);
      expect(await server.stop("SIGTERM")).toBe(0);

      execFileSync("mount", ["-o", "remount,ro", disk.dir], { stdio: "pipe" });
      const refused = spawnSync(serverCommand().command, [...serverCommand().args], {
        cwd: ROOT,
        env: {
          ...process.env,
          ...EMBEDDED,
          CERTMINT_DATA_DIR: dataDir,
          CERTMINT_LISTEN: "127.0.0.1:0",
        },
        encoding: "utf8",
        timeout: 120_000,
      });
      console.log("probe52 read-only start:", refused.status, refused.stderr.trim().slice(0, 600));
      expect(refused.status).toBe(2);
      const lines = refused.stderr.trim().split("\n");
      expect(lines, refused.stderr).toHaveLength(1);
      expect(lines[0]).toContain(dataDir);
      expect(refused.stderr).not.toMatch(/\n\s+at |\.js:\d+:\d+/);
      // The cause in words: the file system is read-only (EROFS). A chmod cures nothing here: the
      // directory is 0700 already, and no mode makes a read-only mount writable.
      expect(lines[0]).toMatch(/read-only/i);
      expect(lines[0]).not.toMatch(/chmod 700/);

      execFileSync("mount", ["-o", "remount,rw", disk.dir], { stdio: "pipe" });
      server = await startEmbedded(dataDir);
      servers.push(server);
      c = makeClients(server.address, server.adminToken());
      clients.push(c);
      const got = await call(c.certificates, "getCertificate", { certificate: before.id! });
      expect(got.certificate!.id).toBe(before.id);
      expect((await issue(c, "after-ro")).id).toBeDefined();
    });

    it("its embedded.pid removed: the next answer is UNAVAILABLE, the process stops (exit 1) naming it; a start on the directory serves everything answered before", async () => {
      const base = mkdtempSync(join(tmpdir(), "certmint-probe52-pid-"));
      const dataDir = join(base, "data");
      let server = await startEmbedded(dataDir);
      servers.push(server);
      let c = makeClients(server.address, server.adminToken());
      clients.push(c);
      await createRootProfile(c, "Lock Root");
      const before = await issue(c, "before-lock");
      expect(before.id).toBeDefined();

      rmSync(join(dataDir, "embedded.pid"));
      const after = await issue(c, "after-lock");
      expect(after.id, "an issuance answered OK with the lock file gone").toBeUndefined();
      expect(after.code).toBe(status.UNAVAILABLE);
      await waitFor("the server to stop", () => server.child.exitCode !== null);
      expect(server.child.exitCode).toBe(1);
      expect(server.output()).toContain("embedded.pid");

      server = await startEmbedded(dataDir);
      servers.push(server);
      c = makeClients(server.address, server.adminToken());
      clients.push(c);
      const got = await call(c.certificates, "getCertificate", { certificate: before.id! });
      expect(got.certificate!.id).toBe(before.id);
      expect((await issue(c, "lock-again")).id).toBeDefined();
      rmSync(base, { recursive: true, force: true });
    });
  },
);
