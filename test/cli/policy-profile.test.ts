/**
 * `certmint policy ...` and `certmint profile ...` against a live server: what each command stores
 * (read back from PostgreSQL), updates that change only what the options name, and refusals that
 * print every field violation and store nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { type CliSession, cliSession, ok } from "./cli";

interface PolicySpecRow {
  spec: {
    sans: Record<
      string,
      { allowed: string[]; denied: string[]; required: boolean; allowWildcardNames?: boolean }
    >;
    subject: Record<string, { allowed: string[]; denied: string[]; required: boolean }>;
    maxTtlSeconds: number;
    keyUsages: { allowed: string[]; required: string[]; denied: string[] };
    basicConstraints: { ca: string; maxPathLength?: number };
    subjectNamesInSans?: string;
  };
  version: number;
}

describe("certmint policy and profile", () => {
  let h: TestCertmint;
  let cli: CliSession;
  const policyRow = async (slug: string) =>
    (
      await h.db.query<PolicySpecRow & Record<string, unknown>>(
        "select spec, version from certificate_policy where slug = $1",
        [slug],
      )
    )[0];
  const profileRow = async (slug: string) =>
    (
      await h.db.query(
        `select p.require_approval, p.allow_self_approval, p.renewal, p.defaults, p.private_key_retention,
                p.validity_overflow, p.self_signed, pol.slug as policy, ca.slug as ca
           from certificate_profile p join certificate_policy pol on pol.id = p.policy_id
           left join certificate_authority ca on ca.id = p.ca_id where p.slug = $1`,
        [slug],
      )
    )[0];

  beforeAll(async () => {
    h = await startTestCertmint();
    cli = cliSession(h.address, h.dataDir);
    ok(await cli.run(["ca", "create-root", "root", "--cn", "Policy Test Root"]));
  });
  afterAll(async () => {
    cli?.remove();
    await h?.stop();
  });

  it("policy create: the preset's rules, then the options' (stored as given)", async () => {
    const out = ok(
      await cli.run([
        "policy",
        "create",
        "web-tls",
        "--preset",
        "tls-server",
        "--allow-dns",
        "**.example.com",
        "--deny-dns",
        "*.evil.example.com",
        "--allow-wildcard-names",
        "--allow-subject",
        "cn=*",
        "--allow-subject",
        "o=Example",
        "--require-subject",
        "o",
        "--max-ttl",
        "30d",
        "--subject-names-in-sans",
        "require",
      ]),
    ).stdout;
    expect(out).toMatch(
      /^san rules: +dns: allow \*\*\.example\.com; deny \*\.evil\.example\.com; wildcard names$/m,
    );
    expect(out).toMatch(/^max ttl: +30d$/m);
    const { spec } = (await policyRow("web-tls"))!;
    expect(spec.sans.dns).toEqual({
      allowed: ["**.example.com"],
      denied: ["*.evil.example.com"],
      required: false,
      allowWildcardNames: true,
    });
    expect(spec.subject.COMMON_NAME).toEqual({ allowed: ["*"], denied: [], required: false });
    expect(spec.subject.ORGANIZATION).toEqual({ allowed: ["Example"], denied: [], required: true });
    expect(spec.maxTtlSeconds).toBe(30 * 86_400);
    expect(spec.subjectNamesInSans).toBe("REQUIRE");
    // From the preset: TLS server usages.
    expect(spec.keyUsages.required).toEqual(["DIGITAL_SIGNATURE"]);

    const ca = await cli.json<{ basicConstraints: { ca: string; maxPathLength: number } }>([
      "policy",
      "create",
      "sub-ca",
      "--preset",
      "intermediate-ca",
      "--allow-dns",
      "**.example.com",
      "--ca-certificates",
      "allowed",
      "--max-path-length",
      "0",
      "--allow-key-usage",
      "key-cert-sign",
      "--allow-key-usage",
      "crl-sign",
      "--allow-key-usage",
      "digital-signature",
    ]);
    expect(ca.basicConstraints).toEqual({ ca: "CA_CERTIFICATE_RULE_ALLOWED", maxPathLength: 0 });
  });

  it("policy create refused: every field violation on one screen, exit 1, no row", async () => {
    const r = await cli.run([
      "policy",
      "create",
      "broken",
      "--allow-dns",
      "a..example.com",
      "--allow-ip",
      "10.0.0.1/8",
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^certmint: INVALID_ARGUMENT: /);
    expect(lines).toContain("  reason: POLICY_INVALID (certmint.dev)");
    expect(r.stderr).toMatch(
      /^ {2}field certificate_policy\.max_ttl: is required \[POLICY_FIELD_MISSING\]$/m,
    );
    expect(r.stderr).toMatch(
      /^ {2}field certificate_policy\.san_rules\.dns\.allowed\[0\]: .*empty label \[POLICY_PATTERN_INVALID\]$/m,
    );
    expect(r.stderr).toMatch(
      /^ {2}field certificate_policy\.san_rules\.ip\.allowed\[0\]: .*"10\.0\.0\.0\/8"\? \[POLICY_PATTERN_INVALID\]$/m,
    );
    expect(r.stderr).toMatch(/^ {2}request id: [0-9a-f-]{36}$/m);
    expect(await policyRow("broken")).toBeUndefined();
  });

  it("policy list and get", async () => {
    const list = ok(await cli.run(["policy", "list"])).stdout;
    expect(list).toMatch(/^web-tls +30d +denied +dns:\*\*\.example\.com /m);
    expect(list).toMatch(/^sub-ca +/m);
    const got = await cli.json<{ slug: string; maxTtl: string }>(["policy", "get", "web-tls"]);
    expect(got).toMatchObject({ slug: "web-tls", maxTtl: "2592000s" });
  });

  it("policy update changes only what the options name, under the etag it read", async () => {
    const before = (await policyRow("web-tls"))!;
    ok(
      await cli.run([
        "policy",
        "update",
        "web-tls",
        "--allow-dns",
        "**.example.com",
        "--allow-dns",
        "**.example.net",
        "--require-dns",
        "--max-ttl",
        "14d",
      ]),
    );
    const after = (await policyRow("web-tls"))!;
    expect(after.spec.sans.dns).toEqual({
      ...before.spec.sans.dns,
      allowed: ["**.example.com", "**.example.net"],
      required: true,
    });
    expect(after.spec.maxTtlSeconds).toBe(14 * 86_400);
    expect(after.spec.subject).toEqual(before.spec.subject);
    expect(after.spec.keyUsages).toEqual(before.spec.keyUsages);
    expect(after.version).toBe(before.version + 1);

    const stale = await cli.run([
      "policy",
      "update",
      "web-tls",
      "--max-ttl",
      "7d",
      "--etag",
      `"${before.version}"`,
    ]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/^certmint: ABORTED: /);
    expect((await policyRow("web-tls"))!.spec.maxTtlSeconds).toBe(14 * 86_400);

    const nothing = await cli.run(["policy", "update", "web-tls"]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain("nothing to change");
  });

  it("profile create on an existing policy, with every setting", async () => {
    const out = ok(
      await cli.run([
        "profile",
        "create",
        "web",
        "--policy",
        "web-tls",
        "--ca",
        "root",
        "--ttl",
        "7d",
        "--key-algorithm",
        "ec-p384",
        "--default-org",
        "Example",
        "--eku",
        "server-auth",
        "--auto-renew",
        "--renew-before-days",
        "2",
        "--allow-shared-renewal",
        "--require-approval",
        "--allow-self-approval",
        "--validity-overflow",
        "truncate",
        "--private-key-retention",
        "store-encrypted",
      ]),
    ).stdout;
    expect(out).toMatch(/^policy: +web-tls \(/m);
    expect(out).toMatch(/^issuer: +root \(/m);
    expect(await profileRow("web")).toMatchObject({
      policy: "web-tls",
      ca: "root",
      require_approval: true,
      allow_self_approval: true,
      validity_overflow: "TRUNCATE",
      private_key_retention: "STORE_ENCRYPTED",
      renewal: { autoRenew: true, renewBeforeDays: 2, allowSharedRenewal: true },
      defaults: {
        ttlSeconds: 7 * 86_400,
        keyAlgorithm: "EC_P384",
        extendedKeyUsages: ["SERVER_AUTH"],
      },
    });
    const read = await cli.json<{ defaults: { subject: unknown } }>(["profile", "get", "web"]);
    expect(read.defaults.subject).toEqual({ organization: ["Example"] });
  });

  it("profile create with policy rules makes its policy first; a refused profile takes it back", async () => {
    const made = ok(
      await cli.run([
        "profile",
        "create",
        "api",
        "--ca",
        "root",
        "--preset",
        "tls-server",
        "--allow-dns",
        "**.api.example.com",
      ]),
    );
    expect(made.stderr).toContain("created policy api");
    expect(await profileRow("api")).toMatchObject({ policy: "api", ca: "root" });
    expect((await policyRow("api"))!.spec.sans.dns!.allowed).toEqual(["**.api.example.com"]);

    const refused = await cli.run([
      "profile",
      "create",
      "orphan",
      "--ca",
      "no-such-ca",
      "--preset",
      "tls-server",
      "--allow-dns",
      "**.example.com",
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^certmint: NOT_FOUND: /m);
    expect(refused.stderr).toContain("deleted policy orphan again");
    expect(await policyRow("orphan")).toBeUndefined();
    expect(await profileRow("orphan")).toBeUndefined();

    const noIssuer = await cli.run(["profile", "create", "x", "--policy", "web-tls"]);
    expect(noIssuer.code).toBe(2);
    expect(noIssuer.stderr).toContain("name the issuer");
  });

  it("profile list, get, update (--no-... turns booleans off) and delete", async () => {
    const list = ok(await cli.run(["profile", "list"])).stdout;
    expect(list).toMatch(/^web +web-tls +root +7d +required +/m);
    expect(list).toMatch(/^api +api +root +/m);
    const got = await cli.json<{ slug: string; requireApproval: boolean }>([
      "profile",
      "get",
      "web",
    ]);
    expect(got).toMatchObject({ slug: "web", requireApproval: true });

    ok(
      await cli.run([
        "profile",
        "update",
        "web",
        "--no-require-approval",
        "--no-allow-shared-renewal",
        "--ttl",
        "3d",
        "--self-signed",
      ]),
    );
    expect(await profileRow("web")).toMatchObject({
      require_approval: false,
      allow_self_approval: true,
      self_signed: true,
      ca: null,
      renewal: { autoRenew: true, renewBeforeDays: 2, allowSharedRenewal: false },
      defaults: { ttlSeconds: 3 * 86_400, keyAlgorithm: "EC_P384" },
    });

    const inUse = await cli.run(["policy", "delete", "web-tls"]);
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toMatch(/^certmint: FAILED_PRECONDITION: /);
    ok(await cli.run(["profile", "delete", "web"]));
    expect(await profileRow("web")).toBeUndefined();
    ok(await cli.run(["policy", "delete", "web-tls"]));
    expect(await policyRow("web-tls")).toBeUndefined();
  });
});
