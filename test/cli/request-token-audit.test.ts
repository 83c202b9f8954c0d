/**
 * `certmint token ...`, `certmint request ...` and `certmint audit list` against a live server,
 * with two people: the admin (the data directory's admin token) and an issuer whose token the
 * admin creates with the CLI and hands over as a file.
 */
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { type CliSession, cliSession, modeOf, ok } from "./cli";

describe("certmint token, request and audit", () => {
  let h: TestCertmint;
  let admin: CliSession;
  let secret: string;
  /** The issuer: the same server and directory, with the token file the admin wrote. */
  const issuer = (args: string[]) => admin.run(["--token-file", "payments.token", ...args]);
  const file = (name: string) => join(admin.dir, name);
  const requestIdOf = (stdout: string) => /^request: +([0-9a-f-]{36})$/m.exec(stdout)![1]!;

  beforeAll(async () => {
    h = await startTestCertmint();
    admin = cliSession(h.address, h.dataDir);
    ok(await admin.run(["ca", "create-root", "root", "--cn", "Approval Root"]));
    for (const [slug, extra] of [
      ["approved", ["--require-approval"]],
      ["open", []],
    ] as const) {
      ok(
        await admin.run([
          "profile",
          "create",
          slug,
          "--ca",
          "root",
          "--preset",
          "tls-server",
          "--allow-dns",
          "**.example.com",
          ...extra,
        ]),
      );
    }
  });
  afterAll(async () => {
    admin?.remove();
    await h?.stop();
  });

  it("token create: the secret goes to a 0600 file and nowhere else; list and get show the grant", async () => {
    const r = ok(
      await admin.run([
        "token",
        "create",
        "payments",
        "--role",
        "issuer",
        "--profile",
        "approved",
        "--profile",
        "open",
        "--ttl",
        "30d",
        "--description",
        "payments team",
      ]),
    );
    secret = readFileSync(file("payments.token"), "utf8").trim();
    expect(secret).toMatch(/^certmint_[A-Za-z0-9_-]{43}$/);
    expect(modeOf(file("payments.token"))).toBe(0o600);
    expect(`${r.stdout}${r.stderr}`).not.toContain(secret);
    expect(r.stdout).toMatch(/^secret file: +payments\.token$/m);
    const [row] = await h.db.query<{ role: string; hash: string }>(
      "select role, encode(secret_hash, 'hex') as hash from access_token where slug = 'payments'",
    );
    expect(row).toEqual({
      role: "ISSUER",
      hash: createHash("sha256").update(secret).digest("hex"),
    });

    const printed = ok(
      await admin.run(["token", "create", "auditor", "--role", "auditor", "--secret-out", "-"]),
    );
    const auditorSecret = printed.stdout.trimEnd().split("\n").at(-1)!;
    expect(auditorSecret).toMatch(/^certmint_/);
    expect(existsSync(file("auditor.token"))).toBe(false);

    expect(ok(await admin.run(["token", "list"])).stdout).toMatch(
      /^payments +issuer +active +\S+ +[0-9a-f-]{36},[0-9a-f-]{36} +bearer +/m,
    );
    const got = await admin.json<{
      role: string;
      certificateProfiles: string[];
      description: string;
    }>(["token", "get", "payments"]);
    expect(got).toMatchObject({ role: "ROLE_ISSUER", description: "payments team" });
    expect(got.certificateProfiles).toHaveLength(2);
  });

  // Found by the third outside probe (2026-12-05): the token was created, then its secret file
  // refused, leaving an active credential nobody held and its slug taken.
  it("token create checks where the secret goes before the token exists", async () => {
    writeFileSync(file("taken.token"), "something else\n");
    symlinkSync(file("nowhere/at/all"), file("dangling.token"));
    for (const [slug, extra, says] of [
      ["taken", [], /taken\.token exists/],
      ["dangling", [], /dangling\.token exists/],
      [
        "nodir",
        ["--secret-out", "missing-dir/nodir.token"],
        /directory missing-dir does not exist/,
      ],
    ] as const) {
      const r = await admin.run(["token", "create", slug, "--role", "auditor", ...extra]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(says);
      expect(await h.db.query("select id from access_token where slug = $1", [slug])).toEqual([]);
    }
    expect(readFileSync(file("taken.token"), "utf8")).toBe("something else\n");
    // With --force the existing file is replaced, and the token is created.
    ok(await admin.run(["token", "create", "taken", "--role", "auditor", "--force"]));
    expect(readFileSync(file("taken.token"), "utf8")).toMatch(/^certmint_/);
  });

  it("a request that needs approval waits; the admin approves; request status writes the key, 0600, and leaves it on a second look", async () => {
    const issued = ok(
      await issuer(["cert", "issue", "--profile", "approved", "--dns", "pay.example.com"]),
    );
    expect(issued.stdout).toMatch(/^status: +pending-approval$/m);
    expect(issued.stderr).toContain("waiting for approval");
    const id = requestIdOf(issued.stdout);
    expect(readdirSync(admin.dir).filter((f) => f.startsWith("pay."))).toEqual([]);
    expect(ok(await issuer(["request", "status", id])).stdout).toMatch(
      /^status: +pending-approval$/m,
    );
    expect(
      (await h.db.query("select status from certificate_request where id = $1", [id]))[0],
    ).toEqual({ status: "PENDING_APPROVAL" });

    // The admin finds it in the queue, with who asked; the issuer sees it as its own.
    const queue = ok(await admin.run(["request", "list", "--status", "pending-approval"]));
    expect(queue.stdout).toMatch(/^ID +STATUS +SUBJECT +NAMES +PROFILE +REQUESTER +CREATED$/m);
    const [payments] = await h.db.query<{ id: string }>(
      "select id from access_token where slug = 'payments'",
    );
    expect(queue.stdout).toMatch(
      new RegExp(`^${id} +pending-approval .*pay\\.example\\.com.* ${payments!.id} `, "m"),
    );
    const listed = await admin.json<{ certificateRequests: Array<{ id: string }> }>([
      "request",
      "list",
      "--profile",
      "approved",
    ]);
    expect(listed.certificateRequests.map((r) => r.id)).toContain(id);
    expect(ok(await issuer(["request", "list"])).stdout).toContain(id);

    const approved = ok(await admin.run(["request", "approve", id, "--comment", "expected"]));
    expect(approved.stdout).toMatch(/^status: +issued$/m);
    expect(approved.stderr).toContain(`certmint request status ${id}`);

    const fetched = ok(await issuer(["request", "status", id]));
    expect(fetched.stdout).toMatch(new RegExp(`^private key file: +${id}\\.key$`, "m"));
    expect(fetched.stdout).not.toContain("PRIVATE KEY");
    expect(modeOf(file(`${id}.key`))).toBe(0o600);
    const cert = new X509Certificate(readFileSync(file(`${id}.crt`)));
    expect(cert.subjectAltName).toBe("DNS:pay.example.com");
    const publicKey = createPublicKey(createPrivateKey(readFileSync(file(`${id}.key`))));
    expect(publicKey.export({ type: "spki", format: "der" })).toEqual(
      cert.publicKey.export({ type: "spki", format: "der" }),
    );

    // The next look (the server still holds the key for its replay window) finds the key file
    // holding it already: only the files asked for are written.
    const again = ok(
      await issuer(["request", "status", id, "--cert-out", "again.crt", "-o", "json"]),
    );
    expect(JSON.parse(again.stdout).files).toEqual({ certificate: "again.crt" });
    expect(readFileSync(file("again.crt"), "utf8")).toBe(readFileSync(file(`${id}.crt`), "utf8"));
  });

  it("reject: the requester sees REJECTED with the approver's reason; nothing is issued", async () => {
    const id = requestIdOf(
      ok(await issuer(["cert", "issue", "--profile", "approved", "--dns", "nope.example.com"]))
        .stdout,
    );
    expect(
      ok(await admin.run(["request", "reject", id, "--reason", "not this one"])).stdout,
    ).toMatch(/^status: +rejected$/m);
    const status = ok(await issuer(["request", "status", id])).stdout;
    expect(status).toMatch(/^status: +rejected$/m);
    expect(status).toContain("not this one");
    expect(
      (await h.db.query("select certificate_id from certificate_request where id = $1", [id]))[0],
    ).toEqual({ certificate_id: null });
  });

  it("the issuer's role is enforced, and its refusals are in the audit trail, found by filters", async () => {
    const refused = await issuer([
      "policy",
      "create",
      "mine",
      "--preset",
      "tls-server",
      "--allow-dns",
      "**",
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^certmint: PERMISSION_DENIED: /);
    expect(refused.stderr).toContain("  reason: ROLE_NOT_ALLOWED (certmint.dev)");

    const failures = await admin.json<{
      auditRecords: Array<{ method: string; statusCode: number; errorReason: string }>;
    }>(["audit", "list", "--failures-only", "--actor", "payments"]);
    expect(failures.auditRecords).toEqual([
      expect.objectContaining({
        method: "/certmint.v1.CertificatePolicyService/CreateCertificatePolicy",
        statusCode: 7,
        errorReason: "ROLE_NOT_ALLOWED",
      }),
    ]);
    const approvals = await admin.json<{ auditRecords: Array<{ resourceType: string }> }>([
      "audit",
      "list",
      "--method",
      "ApproveCertificateRequest",
    ]);
    expect(approvals.auditRecords.map((r) => r.resourceType)).toEqual(["certificate_request"]);
    const table = ok(
      await admin.run(["audit", "list", "--actor", "payments", "--since", "1h"]),
    ).stdout;
    expect(table.split("\n")[0]).toMatch(
      /^TIME +ACTOR +METHOD +RESOURCE +CODE +REASON +REQUEST ID$/,
    );
    expect(table).toMatch(
      // The refused create names the policy it tried to make (since the third stop of 2026-12-05).
      / payments +CertificatePolicyService\/CreateCertificatePolicy +certificate_policy mine +PERMISSION_DENIED +ROLE_NOT_ALLOWED /,
    );
    expect(table).toMatch(
      / payments +CertificateService\/IssueCertificate +certificate_request [0-9a-f-]{36} +OK /,
    );
    expect(ok(await admin.run(["audit", "list", "--until", "1h"])).stdout).toBe("(none)\n");
  });

  it("token revoke: the next call made with it is UNAUTHENTICATED", async () => {
    expect(ok(await admin.run(["token", "revoke", "payments"])).stdout).toMatch(
      /^state: +revoked$/m,
    );
    const [row] = await h.db.query<{ revoked: boolean }>(
      "select revoked_at is not null as revoked from access_token where slug = 'payments'",
    );
    expect(row).toEqual({ revoked: true });
    const r = await issuer(["cert", "issue", "--profile", "open", "--dns", "late.example.com"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^certmint: UNAUTHENTICATED: /);
    expect(r.stderr).toContain("  reason: TOKEN_REVOKED (certmint.dev)");
    expect(existsSync(file("late.example.com.crt"))).toBe(false);
  });
});
