import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ListAuditRecordsRequest } from "../../gen/ts/certmint/v1/audit_service";
import { call } from "../support/harness";
import {
  type AcmeServer,
  lastLine,
  lego,
  legoOk,
  readState,
  requireLego,
  startAcmeServer,
  stateDir,
  trustForLego,
  verifyBundle,
} from "./helpers";

/**
 * Issue 16: a real ACME client (lego, pinned in test/clients/lego/go.mod, built by `make lego`)
 * obtains, renews and revokes certificates from certmint over http-01 and tls-alpn-01; every
 * certificate verifies with openssl against certmint's root, and lands in the inventory and the
 * audit trail like one from IssueCertificate.
 */
describe("ACME with lego", () => {
  let s: AcmeServer;

  beforeAll(async () => {
    requireLego();
    s = await startAcmeServer();
    trustForLego(s.tlsCaFile);
  });
  afterAll(async () => {
    await s?.h.stop();
  });

  const base = (dir: string) => ["-server", s.directory(), "-dir", dir];

  it("obtains (http-01), renews with ARI's replaces, and revokes a certificate", async () => {
    const dir = stateDir();
    const accountUrl = lastLine(await legoOk([...base(dir), "register"]));
    expect(accountUrl).toMatch(/\/acme\/web-acme\/account\/[0-9a-f-]{36}$/);
    const accountId = accountUrl.split("/").at(-1)!;
    // The same key finds the same account (RFC 8555 7.3.1).
    expect(lastLine(await legoOk([...base(dir), "find"]))).toBe(accountUrl);

    const domains = "app.acme.localhost,www.acme.localhost";
    await legoOk([...base(dir), "-domains", domains, "-http-port", String(s.httpPort), "obtain"]);
    const first = verifyBundle(readState(dir, "cert.pem"), s.rootPem);
    expect(first.subjectAltName).toBe("DNS:app.acme.localhost, DNS:www.acme.localhost");

    // In the inventory, owned by the account, with the finalize in the audit trail.
    const [row] = await s.h.db.query<{ id: string; owner: string; profile: string }>(
      `select c.id, c.owner, p.slug as profile from certificate c join certificate_profile p on p.id = c.profile_id
        where c.serial_number = $1`,
      [first.serialNumber.toLowerCase()],
    );
    expect(row).toMatchObject({ owner: accountId, profile: "web-acme" });
    const audit = await s.h.db.query<{ method: string; actor_id: string; status_code: number }>(
      `select method, actor_id, status_code from audit_record where resource_type = 'certificate_request' and actor_id = $1`,
      [accountId],
    );
    expect(audit).toEqual([{ method: "/acme/finalize", actor_id: accountId, status_code: 0 }]);
    // ... and through the API, as any certificate and any audit record.
    const got = await call(s.h.certificates, "getCertificate", { certificate: row!.id });
    expect(got.certificate?.certificatePem).toContain("BEGIN CERTIFICATE");
    const records = await call(
      s.h.audit,
      "listAuditRecords",
      ListAuditRecordsRequest.fromPartial({ method: "/acme/finalize" }),
    );
    expect(records.auditRecords.map((r) => r.actor)).toContain(accountId);

    // ARI (RFC 9773): a window inside the certificate's lifetime (its last third by default).
    const ari = JSON.parse(lastLine(await legoOk([...base(dir), "ari"]))) as {
      suggestedWindow: { start: string; end: string };
    };
    const start = Date.parse(ari.suggestedWindow.start);
    const end = Date.parse(ari.suggestedWindow.end);
    const notBefore = Date.parse(first.validFrom);
    const notAfter = Date.parse(first.validTo);
    expect(start).toBeGreaterThan(notBefore);
    expect(end).toBeGreaterThan(start);
    expect(end).toBeLessThan(notAfter);

    // Renewal: a new order that replaces the first certificate, then a new certificate.
    await legoOk([...base(dir), "-http-port", String(s.httpPort), "renew"]);
    const second = verifyBundle(readState(dir, "cert.pem"), s.rootPem);
    expect(second.serialNumber).not.toBe(first.serialNumber);
    expect(second.subjectAltName).toBe(first.subjectAltName);
    const [order] = await s.h.db.query<{ replaces: string }>(
      `select replaces from acme_order where account_id = $1 and replaces is not null`,
      [accountId],
    );
    expect(order?.replaces).toBeTruthy();

    // Revocation with the account key: the certificate is revoked and listed in the CRL.
    await legoOk([...base(dir), "revoke"]);
    const [revoked] = await s.h.db.query<{ revoked_at: Date | null; revocation_reason: string }>(
      `select revoked_at, revocation_reason from certificate where serial_number = $1`,
      [second.serialNumber.toLowerCase()],
    );
    expect(revoked?.revoked_at).toBeInstanceOf(Date);
    expect(revoked?.revocation_reason).toBe("UNSPECIFIED");
    // A second revocation is alreadyRevoked, and changes nothing.
    const again = await lego([...base(dir), "revoke"]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain("urn:ietf:params:acme:error:alreadyRevoked");
  });

  it("obtains a certificate over tls-alpn-01", async () => {
    const dir = stateDir();
    await legoOk([...base(dir), "-account-key", "ec384", "register"]);
    await legoOk([
      ...base(dir),
      "-domains",
      "alpn.acme.localhost",
      "-tls-port",
      String(s.tlsPort),
      "obtain",
    ]);
    const cert = verifyBundle(readState(dir, "cert.pem"), s.rootPem);
    expect(cert.subjectAltName).toBe("DNS:alpn.acme.localhost");
  });

  it("accepts an RS256 account key", async () => {
    for (const key of ["rsa2048"]) {
      const dir = stateDir();
      await legoOk([...base(dir), "-account-key", key, "register"]);
      await legoOk([
        ...base(dir),
        "-domains",
        `${key}.acme.localhost`,
        "-http-port",
        String(s.httpPort),
        "obtain",
      ]);
      verifyBundle(readState(dir, "cert.pem"), s.rootPem);
    }
  });

  it("refuses an identifier outside the policy with rejectedIdentifier, writing no order", async () => {
    const dir = stateDir();
    const accountId = lastLine(await legoOk([...base(dir), "register"]))
      .split("/")
      .at(-1)!;
    const r = await lego([
      ...base(dir),
      "-domains",
      "ok.acme.localhost,denied.acme.localhost",
      "-http-port",
      String(s.httpPort),
      "obtain",
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("urn:ietf:params:acme:error:rejectedIdentifier");
    expect(r.stderr).toContain("denied.acme.localhost");
    const orders = await s.h.db.query(`select id from acme_order where account_id = $1`, [
      accountId,
    ]);
    expect(orders).toEqual([]);
    const certs = await s.h.db.query(`select id from certificate where owner = $1`, [accountId]);
    expect(certs).toEqual([]);
  });

  it("rolls the account key over and deactivates the account", async () => {
    const dir = stateDir();
    const url = lastLine(await legoOk([...base(dir), "register"]));
    const id = url.split("/").at(-1)!;
    const [before] = await s.h.db.query<{ key_thumbprint: string }>(
      `select key_thumbprint from acme_account where id = $1`,
      [id],
    );
    await legoOk([...base(dir), "-account-key", "rsa2048", "rollover"]);
    const [after] = await s.h.db.query<{ key_thumbprint: string; jwk: { kty: string } }>(
      `select key_thumbprint, jwk from acme_account where id = $1`,
      [id],
    );
    expect(after?.key_thumbprint).not.toBe(before?.key_thumbprint);
    expect(after?.jwk.kty).toBe("RSA");
    // The new key finds the same account.
    expect(lastLine(await legoOk([...base(dir), "find"]))).toBe(url);
    await legoOk([...base(dir), "deactivate"]);
    const [gone] = await s.h.db.query<{ status: string }>(
      `select status from acme_account where id = $1`,
      [id],
    );
    expect(gone?.status).toBe("deactivated");
    // Each change is in the audit trail, by the account, in the transaction that made it.
    const trail = await s.h.db.query<{ method: string; resource_type: string }>(
      `select method, resource_type from audit_record where actor_id = $1 order by created_at, method`,
      [id],
    );
    expect(trail).toEqual([
      { method: "/acme/newAccount", resource_type: "acme_account" },
      { method: "/acme/keyChange", resource_type: "acme_account" },
      { method: "/acme/account", resource_type: "acme_account" },
    ]);
    // A deactivated account can do nothing more.
    const r = await lego([
      ...base(dir),
      "-domains",
      "late.acme.localhost",
      "-http-port",
      String(s.httpPort),
      "obtain",
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("urn:ietf:params:acme:error:unauthorized");
  });
});
