/**
 * The README's sidecar (`certmint cert watch ID --out-dir DIR`, run with the owner's issuer
 * token) on a profile that requires approval and renews automatically: certmint's renewal waits
 * for an approver, who approves it; the owner's watch gets RENEWED with the new private key
 * (certmint generated it), and the sidecar writes the new cert.pem, chain.pem and key.pem
 * (verified with openssl), keeps running, and exits 0 on SIGTERM. The hand-out is audited (the
 * owner token, the successor certificate) and starts the key's replay window, so the owner's
 * GetRequestStatus of the renewal still returns the key (the approver's does not). Until stop
 * 44 of 2026-12-06 RENEWED came without the key and the sidecar exited 1 saying another token
 * had renewed the certificate (an outside probe, F4).
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccessToken, Role } from "../../gen/ts/certmint/v1/access_token_service";
import { CertificateRequestStatus } from "../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import { attrRequest, issueRequest, seconds } from "../certificates/helpers";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { openssl } from "../support/openssl";
import { waitFor } from "../support/wait";
import { CLI, type CliSession, cliSession, modeOf, ok } from "./cli";

/** `certmint cert watch` run as a sidecar with a token of its own ($CERTMINT_TOKEN). */
class Sidecar {
  stdout = "";
  stderr = "";
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessWithoutNullStreams;
  constructor(address: string, token: string, args: readonly string[], cwd: string) {
    this.child = spawn(process.execPath, [CLI, "--server", address, "cert", "watch", ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", CERTMINT_TOKEN: token },
    });
    this.child.stdout.on("data", (d) => {
      this.stdout += d;
    });
    this.child.stderr.on("data", (d) => {
      this.stderr += d;
    });
    this.exited = new Promise((resolve) => this.child.on("close", (code) => resolve(code)));
  }
  running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
  stop(): Promise<number | null> {
    if (this.running()) this.child.kill("SIGTERM");
    return this.exited;
  }
}

const serialOf = (pem: string) => new X509Certificate(pem).serialNumber.toLowerCase();

describe("certmint cert watch --out-dir on an approval profile that renews automatically", () => {
  let h: TestCertmint;
  let cli: CliSession;
  let rootPem: string;
  const sidecars: Sidecar[] = [];

  beforeAll(async () => {
    h = await startTestCertmint({ CERTMINT_RENEWAL_TICK_MS: "200" });
    cli = cliSession(h.address, h.dataDir);
    ok(await cli.run(["ca", "create-root", "root", "--cn", "Approved Renewal Root"]));
    ok(
      await cli.run([
        "ca",
        "create-intermediate",
        "issuing",
        "--parent",
        "root",
        "--cn",
        "Approved Renewal Issuing",
      ]),
    );
    // Renews 10 minutes before notAfter once auto-renew is on; a successor lives an hour.
    ok(
      await cli.run([
        "profile",
        "create",
        "gated",
        "--ca",
        "issuing",
        "--ttl",
        "1h",
        "--no-auto-renew",
        "--renew-before",
        "10m",
        "--require-approval",
        "--preset",
        "tls-server",
        "--allow-dns",
        "**.example.com",
        "--allow-subject",
        "cn=*",
      ]),
    );
    rootPem = join(cli.dir, "root.pem");
    writeFileSync(rootPem, ok(await cli.run(["ca", "get", "root", "-o", "pem"])).stdout);
  });
  afterAll(async () => {
    for (const s of sidecars) await s.stop();
    cli?.remove();
    await h?.stop();
  });

  const token = async (slug: string, role: Role) => {
    const res = await call(h.accessTokens, "createAccessToken", {
      accessToken: AccessToken.fromPartial({ slug, role, certificateProfiles: ["gated"] }),
    });
    return { id: res.accessToken!.id, secret: res.secret };
  };

  it("writes the approved renewal's certificate and new key, and keeps running", async () => {
    const owner = await token("owner", Role.ROLE_ISSUER);
    const approver = await token("approver", Role.ROLE_APPROVER);
    const ownerApi = h.clientsAs(owner.secret).certificates;
    const approverApi = h.clientsAs(approver.secret).certificates;
    const approve = (id: string) =>
      call(approverApi, "approveCertificateRequest", { certificateRequestId: id, comment: "ok" });

    // 5 minutes: inside the 10-minute renewal window from the start. certmint makes the key.
    const asked = await call(
      ownerApi,
      "issueCertificate",
      issueRequest({
        ...attrRequest("gated", {
          cn: "svc.example.com",
          dns: ["svc.example.com"],
          keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
          requestId: "first",
        }),
        ttl: seconds(300),
      }),
    );
    await approve(asked.certificateRequestId);
    const first = await call(ownerApi, "getRequestStatus", {
      certificateRequestId: asked.certificateRequestId,
    });
    expect(first.privateKeyPem).toContain("PRIVATE KEY");
    const firstId = first.certificate!.certificateId;

    const dir = mkdtempSync(join(cli.dir, "tls-"));
    const sidecar = new Sidecar(h.address, owner.secret, [firstId, "--out-dir", dir], cli.dir);
    sidecars.push(sidecar);
    const certFile = join(dir, "cert.pem");
    const keyFile = join(dir, "key.pem");
    const serialOnDisk = () =>
      existsSync(certFile) ? serialOf(readFileSync(certFile, "utf8")) : "";
    await waitFor("the sidecar to write the current certificate", () => serialOnDisk() !== "");
    expect(serialOnDisk()).toBe(first.certificate!.serialNumber);

    // certmint renews by itself, in the owner's name; the renewal waits for an approver.
    ok(await cli.run(["profile", "update", "gated", "--auto-renew"]));
    let renewalId = "";
    await waitFor("the automatic renewal to wait for approval", async () => {
      const [row] = await h.db.query<{ id: string }>(
        "select id from certificate_request where renewal_of_certificate_id = $1 and status = 'PENDING_APPROVAL'",
        [firstId],
      );
      renewalId = row?.id ?? "";
      return renewalId !== "";
    });
    expect((await approve(renewalId)).certificateRequest!.status).toBe(
      CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED,
    );

    await waitFor(
      "the sidecar to write the successor (or stop)",
      () =>
        (serialOnDisk() !== "" && serialOnDisk() !== first.certificate!.serialNumber) ||
        !sidecar.running(),
    );
    expect(sidecar.stderr).not.toMatch(/did not receive its key/);
    expect(sidecar.running()).toBe(true);
    let files = { cert: "", key: "" };
    await waitFor("a consistent reading of cert.pem and key.pem", () => {
      const cert = readFileSync(certFile, "utf8");
      files = { cert, key: readFileSync(keyFile, "utf8") };
      return readFileSync(certFile, "utf8") === cert && existsSync(keyFile);
    });
    const successor = new X509Certificate(files.cert);
    expect(successor.subject).toContain("CN=svc.example.com");
    expect(successor.checkPrivateKey(createPrivateKey(files.key))).toBe(true);
    expect(modeOf(keyFile)).toBe(0o600);
    const check = openssl([
      "verify",
      "-CAfile",
      rootPem,
      "-untrusted",
      join(dir, "chain.pem"),
      certFile,
    ]);
    expect(check.stdout, check.stderr).toContain(": OK");
    const [stored] = await h.db.query<{ id: string; owner: string }>(
      "select id, owner from certificate where renewed_from_id = $1",
      [firstId],
    );
    expect(stored!.owner).toBe(owner.id);
    expect(serialOf(files.cert)).toBe(
      serialOf(
        (await call(h.certificates, "getCertificate", { certificate: stored!.id })).certificate!
          .certificatePem,
      ),
    );

    // The hand-out is audited: the owner token, the successor certificate.
    const audits = await call(h.audit, "listAuditRecords", {
      pageSize: 100,
      pageToken: "",
      actor: "owner",
      method: "/certmint.v1.CertificateService/WatchCertificates",
      resourceType: "certificate",
      resourceId: stored!.id,
      failuresOnly: false,
    });
    expect(audits.auditRecords.map((r) => [r.actorSlug, r.statusCode])).toEqual([["owner", 0]]);
    // It started the key's replay window: the owner's GetRequestStatus still returns it.
    const status = await call(ownerApi, "getRequestStatus", { certificateRequestId: renewalId });
    expect(status.privateKeyPem.trim()).toBe(files.key.trim());
    // Another token's (the approver's) GetRequestStatus does not.
    const seen = await call(approverApi, "getRequestStatus", { certificateRequestId: renewalId });
    expect(seen.privateKeyPem).toBe("");

    expect(await sidecar.stop()).toBe(0);
  }, 180_000);
});
