/**
 * Stop-50 outside probe DATA: the embedded default's data directory over its life, as README
 * "Backups, and what a restore means" and "The data directory" tell an operator. The compiled
 * server (README's node flags, no DATABASE_URL) is started under a umask of 000 (a careless
 * service unit), filled over gRPC, stopped, and its data directory then:
 *
 * - copied while stopped (`cp -a`) to another path and started there: the same PKI (rows, admin
 *   token, CRL), and it issues on;
 * - restored as README allows, `pglite/` alone with the KEK kept apart: refused in one line until
 *   the key is put back (`install -m 0600`), never a new KEK or admin token beside old keys;
 * - copied with a lock file a killed server left, whose pid now belongs to another process (a
 *   reboot reuses pids; a restore on another host): README says a file left by a killed server
 *   is taken over.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateRequestStatus,
  ListCertificatesRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { runServerExpectingExit } from "../../ca/helpers";
import {
  closeClients,
  createIssuingProfile,
  generatedKeyRequest,
  startEmbedded,
} from "../../probe49/emb/support";
import { type CertmintClients, call, makeClients } from "../../support/harness";
import { TempDir } from "../../support/openssl";
import { unusedPort } from "../../support/ports";
import { logLines, type ServerProcess, START_LIMIT_MS } from "../../support/server-process";
import { fetchCrl } from "./support";

const ISSUED = CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED;

/** `cp` as an operator runs it; fails the test if it fails. */
function cp(args: string[]): void {
  const r = spawnSync("cp", args, { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
}

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8).padStart(4, "0");

describe("probe50 DATA: the embedded data directory copied, moved and restored", {
  timeout: 4 * START_LIMIT_MS,
}, () => {
  const base = mkdtempSync(join(tmpdir(), "certmint-probe50-emb-copy-"));
  const original = join(base, "srv", "data");
  const tmp = new TempDir();
  let server: ServerProcess | undefined;
  let c: CertmintClients | undefined;
  let adminToken = "";
  let issuingId = "";
  let chainFile = "";
  let publication = "";
  let serials: string[] = [];
  let revokedSerial = "";
  let sleeper: ChildProcess | undefined;

  const start = async (dataDir: string) => {
    const port = await unusedPort();
    publication = `http://127.0.0.1:${port}`;
    server = await startEmbedded(dataDir, {
      CERTMINT_LOG_FORMAT: "json",
      CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${port}`,
      CERTMINT_PUBLIC_BASE_URL: publication,
    });
    c = makeClients(server.address, adminToken || server.adminToken());
    return server;
  };
  const stop = async () => {
    closeClients(c);
    c = undefined;
    const s = server;
    server = undefined;
    expect(await s?.stop()).toBe(0);
  };
  const listedSerials = async () =>
    (
      await call(
        c!.certificates,
        "listCertificates",
        ListCertificatesRequest.fromPartial({ pageSize: 50 }),
      )
    ).certificates
      .map((x) => x.serialNumber)
      .sort();

  beforeAll(async () => {
    mkdirSync(join(base, "srv"), { mode: 0o755 });
    // A careless service unit: UMask=0000. What certmint writes must not depend on it.
    const umask = process.umask(0);
    try {
      await start(original);
    } finally {
      process.umask(umask);
    }
    adminToken = server!.adminToken();
    const { root, issuing } = await createIssuingProfile(c!);
    issuingId = issuing.id;
    chainFile = tmp.file("chain.pem", `${issuing.certificatePem}\n${root.certificatePem}`);
    for (const name of ["one", "two"]) {
      const res = await call(
        c!.certificates,
        "issueCertificate",
        generatedKeyRequest("web", `p50-${name}`, `${name}.example.com`),
      );
      expect(res.status).toBe(ISSUED);
      serials.push(res.certificate!.serialNumber);
    }
    revokedSerial = serials[0]!;
    await call(c!.certificates, "revokeCertificate", {
      certificate: revokedSerial,
      reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
    });
    serials = serials.sort();
    await stop();
  }, 2 * START_LIMIT_MS);

  afterAll(async () => {
    await stop().catch(() => undefined);
    sleeper?.kill("SIGKILL");
    tmp.remove();
    rmSync(base, { recursive: true, force: true });
  });

  it("under umask 000 the data directory is 0700 and its secrets 0600; a clean stop leaves no lock file", () => {
    expect(mode(original)).toBe("0700");
    expect(mode(join(original, "kek.key"))).toBe("0600");
    expect(mode(join(original, "admin-token"))).toBe("0600");
    expect(existsSync(join(original, "embedded.pid"))).toBe(false);
    expect(readdirSync(original).sort()).toEqual(["admin-token", "kek.key", "pglite"]);
  });

  it("under umask 000 no file of the embedded database is open to other users (PostgreSQL's own umask 0077)", () => {
    // PostgreSQL's postmaster sets umask(PG_MODE_MASK_OWNER) whatever it inherits, so its files
    // are 0600 and its directories 0700; a copy or backup that keeps modes (cp -a, tar -p,
    // rsync -a) then carries no world-writable database file into its next place.
    const open: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        const st = statSync(path);
        if ((st.mode & 0o077) !== 0) open.push(`${mode(path)} ${path.slice(original.length + 1)}`);
        if (st.isDirectory()) walk(path);
      }
    };
    walk(join(original, "pglite"));
    expect({ count: open.length, first: open.slice(0, 3) }).toEqual({ count: 0, first: [] });
  });

  it("copied while stopped (cp -a) to another path, it starts there as the same PKI and issues on", async () => {
    const moved = join(base, "elsewhere", "certmint-data");
    mkdirSync(join(base, "elsewhere"), { mode: 0o755 });
    cp(["-a", original, moved]);
    const s = await start(moved);
    expect(logLines(s).some((l) => l.msg === "created a new data directory")).toBe(false);
    // The same admin token, read from the copy.
    expect(readFileSync(join(moved, "admin-token"), "utf8").trim()).toBe(adminToken);
    expect(await listedSerials()).toEqual(serials);
    const crl = await fetchCrl(publication, issuingId, chainFile, tmp);
    expect(crl.text).toContain(`Serial Number: ${revokedSerial.toUpperCase()}`);
    const res = await call(
      c!.certificates,
      "issueCertificate",
      generatedKeyRequest("web", "p50-moved", "moved.example.com"),
    );
    expect(res.status).toBe(ISSUED);
    expect(serials).not.toContain(res.certificate!.serialNumber);
    await stop();
  });

  it("pglite/ restored without its KEK: refused in one line, exit 2; nothing made; with the key installed it serves", async () => {
    const restored = join(base, "restored");
    mkdirSync(restored, { mode: 0o700 });
    cp(["-a", join(original, "pglite"), join(restored, "pglite")]);
    const refused = await runServerExpectingExit({
      DATABASE_URL: "",
      CERTMINT_DATA_DIR: restored,
      CERTMINT_LOG_FORMAT: "json",
    });
    expect(refused.served).toBe(false);
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stderr).toBe(
      `certmint: start-up failed: cannot load the key-encryption key, and this database holds CA keys sealed with one: the KEK file ${join(restored, "kek.key")} does not exist\n`,
    );
    expect(readdirSync(restored).sort()).toEqual(["pglite"]);

    // README: install -m 0600 <key file> <data dir>/kek.key
    const install = spawnSync("install", [
      "-m",
      "0600",
      join(original, "kek.key"),
      join(restored, "kek.key"),
    ]);
    expect(install.status).toBe(0);
    await start(restored);
    // An admin token is in force in the restored rows: the operator's is used, none is written.
    expect(existsSync(join(restored, "admin-token"))).toBe(false);
    expect(await listedSerials()).toEqual(serials);
    await stop();
  });

  it("a copy holding a killed server's lock file, whose pid another process now has, is taken over (README: a dead owner's file is taken over)", async () => {
    const copy = join(base, "after-reboot");
    cp(["-a", original, copy]);
    // The pid the killed server had now belongs to another program (a reboot, another host).
    sleeper = spawn("sleep", ["600"], { stdio: "ignore" });
    await new Promise((resolve) => sleeper!.once("spawn", resolve));
    writeFileSync(join(copy, "embedded.pid"), `${sleeper.pid}\n`, { mode: 0o600 });
    const outcome = await runServerExpectingExit({
      DATABASE_URL: "",
      CERTMINT_DATA_DIR: copy,
      CERTMINT_LOG_FORMAT: "json",
    });
    sleeper.kill("SIGKILL");
    expect(
      { served: outcome.served, stderr: outcome.stderr },
      `a start on the copy: ${outcome.stderr}`,
    ).toEqual({ served: true, stderr: "" });
  });
});
