/**
 * What the disk-full probes (test/probe/disk-full-*.test.ts) share: a small tmpfs mounted for
 * one test file (the disk that fills), filled to the last block with a file and freed by
 * deleting it; issuance set up over gRPC on a server started as a process; a Deployment
 * (outage-support.ts) of that server, so the outage probes' load, replays and waits apply; and
 * the fill-under-load phase with what must hold while the disk is full.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@grpc/grpc-js";
import { expect } from "vitest";
import { CreateRootCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { CreateCertificateProfileRequest } from "../../gen/ts/certmint/v1/certificate_profile_service";
import { ListCertificatesRequest } from "../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import { createTlsServerPolicy } from "../support/fixtures";
import { call, makeClients } from "../support/harness";
import type { TestDatabase } from "../support/postgres";
import {
  checkHealth,
  logLines,
  ROOT,
  type ServerProcess,
  START_LIMIT_MS,
} from "../support/server-process";
import { waitFor } from "../support/wait";
import { type Deployment, expectCodesWithin, issueUnderLoad, type Ledger } from "./outage-support";

export interface SmallDisk {
  dir: string;
  /** Bytes an unprivileged writer can still write. */
  free(): number;
  /** Writes a file until the disk has no block left (dd ends with ENOSPC). */
  fill(): void;
  /** Deletes that file. */
  unfill(): void;
  /** Unmounts the tmpfs and removes its mount point (also when it is busy: lazily). */
  remove(): void;
}

/**
 * A tmpfs of `size` (mount's syntax: "96m") at a new directory /mnt/<name>-XXXXXX (unique:
 * two test runs on one machine must not mount over or unmount each other's; seen when CI and
 * `scripts/busy -- make test` ran side by side), or at `at` (an existing directory, e.g. inside
 * another small disk); a string saying why not when this process is not root or the mount
 * fails (the test skips with it).
 */
export function mountSmallDisk(name: string, size: string, at?: string): SmallDisk | string {
  if (process.getuid?.() !== 0) return "mounting a tmpfs needs root";
  let dir = at ?? "";
  try {
    if (at === undefined) {
      mkdirSync("/mnt", { recursive: true });
      dir = mkdtempSync(join("/mnt", `${name}-`));
    }
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0755`, "tmpfs", dir], {
      stdio: "pipe",
    });
  } catch (err) {
    if (at === undefined && dir) rmSync(dir, { recursive: true, force: true });
    return `cannot mount a tmpfs at ${dir || "/mnt"}: ${(err as Error).message}`;
  }
  const fillFile = join(dir, "fill");
  return {
    dir,
    free() {
      const s = statfsSync(dir);
      return s.bavail * s.bsize;
    },
    fill() {
      try {
        execFileSync("dd", ["if=/dev/zero", `of=${fillFile}`, "bs=64k"], { stdio: "pipe" });
      } catch {
        // dd ends with ENOSPC: that is the point.
      }
    },
    unfill() {
      rmSync(fillFile, { force: true });
    },
    remove() {
      try {
        execFileSync("umount", [dir], { stdio: "pipe" });
      } catch {
        execFileSync("umount", ["-l", dir], { stdio: "pipe" });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fills `disk` but for one 4 KiB page (the next small file written, e.g. embedded.pid, takes it). */
export function fillButOnePage(disk: SmallDisk): void {
  const spare = join(disk.dir, "spare");
  writeFileSync(spare, Buffer.alloc(4096));
  disk.fill();
  rmSync(spare);
}

/** A root CA, a TLS server policy and a profile `web` on it, over gRPC as an admin would. */
export async function setUpIssuance(address: string, token: string): Promise<string> {
  const c = makeClients(address, token);
  try {
    await call(
      c.authorities,
      "createRootCertificateAuthority",
      CreateRootCertificateAuthorityRequest.fromPartial({
        slug: "disk-root",
        subject: { commonName: "Disk Full Probe Root" },
      }),
    );
    await createTlsServerPolicy(c, "disk-tls", 2_592_000);
    await call(
      c.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "web",
          certificatePolicy: "disk-tls",
          issuer: { $case: "certificateAuthority", value: "disk-root" },
          defaults: {
            ttl: { seconds: "604800", nanos: 0 },
            keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
          },
        },
      }),
    );
  } finally {
    for (const client of Object.values(c)) (client as Client).close();
  }
  return "web";
}

/**
 * The members of a Deployment that issueUnderLoad, replayAll and waitForHealth use, for a
 * server started here (one process; `db` only where the probe can query the database).
 */
export function asDeployment(
  server: ServerProcess,
  token: string,
  profile: string,
  db?: TestDatabase,
): Deployment {
  return {
    db,
    server,
    token,
    profile,
    processes: 1,
    servingPids: () => [server.child.pid!],
  } as unknown as Deployment;
}

/**
 * The phase both disk-full probes run: issuance under load, the disk filled to its last block,
 * then freed. While full every issuance is answered UNAVAILABLE (DATABASE_UNAVAILABLE) naming
 * the full disk, with no SQL or stack in its details, while reads and health go on (SERVING);
 * once freed, issuance resumes without a restart. The log says it in words (cause 53100), at
 * most once per 10 s, with no error-level line and nothing but JSON lines. Returns the load's
 * ledger, for the replays that follow.
 */
export async function fillDiskUnderLoad(
  server: ServerProcess,
  d: Deployment,
  disk: SmallDisk,
  tag: string,
): Promise<Ledger> {
  const load = issueUnderLoad(d, { clients: 3, tag, deadlineMs: 10_000 });
  try {
    await load.untilMoreOk("issuance before the disk fills", 20);
    const filledAt = Date.now();
    disk.fill();
    expect(disk.free()).toBe(0);
    await waitFor("20 calls refused on the full disk", () => load.count("UNAVAILABLE") >= 20);

    // Reads and health while full.
    expect(await checkHealth(server.address)).toBe("SERVING");
    const c = makeClients(server.address, d.token);
    const listed = await call(
      c.certificates,
      "listCertificates",
      ListCertificatesRequest.fromPartial({ pageSize: 5 }),
    );
    c.certificates.close();
    expect(listed.certificates.length).toBeGreaterThan(0);

    disk.unfill();
    const fullMs = Date.now() - filledAt;
    await load.untilMoreOk("issuance once space is freed, without a restart", 20);
    const codes = await load.stop();
    expectCodesWithin(codes, ["OK", "UNAVAILABLE"]);
    for (const [id, o] of load.ledger.outcomes) {
      if ("ok" in o) continue;
      expect(o.reason, `${id}: ${o.details}`).toBe("DATABASE_UNAVAILABLE");
      expect(o.details, id).toMatch(/disk is full/);
      expect(o.details, id).not.toMatch(/insert|update|select|\bat \S+:\d+/i);
    }

    const lines = logLines(server);
    const full = lines.filter((l) => l.msg === "database unavailable");
    expect(full.length).toBeGreaterThan(0);
    expect(full.length).toBeLessThanOrEqual(Math.ceil(fullMs / 10_000) + 1);
    for (const l of full) {
      expect(l).toMatchObject({ cause: "53100", condition: "the database's disk is full" });
    }
    expect(lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
    const plain = server
      .output()
      .split("\n")
      .filter((l) => l.trim() !== "" && !l.startsWith("{"));
    expect(plain).toEqual([]);
    return load.ledger;
  } finally {
    await load.stop();
  }
}

/** The compiled server run until it exits (a start that fails): its exit code and output. */
export function runToExit(env: Record<string, string>) {
  const r = spawnSync(process.execPath, ["dist/src/main.js"], {
    cwd: ROOT,
    env: {
      ...process.env,
      CERTMINT_LISTEN: "127.0.0.1:0",
      CERTMINT_LOG_FORMAT: "json",
      CERTMINT_RENEWAL_ENABLED: "false",
      ...env,
    },
    encoding: "utf8",
    timeout: START_LIMIT_MS,
  });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}
