import { execFileSync } from "node:child_process";
import type { KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificatePolicy,
  CertificatePolicyPreset,
} from "../../gen/ts/certmint/v1/certificate_policy_service";
import {
  CertificateProfile,
  EnrollmentMethod,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import { ACME_NEW_AUTHORIZATIONS_PER_ACCOUNT } from "../../src/acme/index";
import { embeddedIpv4, ValidationTargets } from "../../src/acme/validation/targets";
import { opensslCsr } from "../support/fixtures";
import { call } from "../support/harness";
import { waitFor } from "../support/wait";
import { type AcmeServer, startAcmeServer } from "./helpers";
import { AcmeTestClient, b64u, jwsSign, publicJwk, thumbprint } from "./jws-client";

const ACME = "urn:ietf:params:acme:error:";

/** A CSR (DER) for `names`, signed with `key` (as openssl writes it). */
function csrWithKey(key: KeyObject, subject: string, names: string[]): Buffer {
  const dir = mkdtempSync(join(tmpdir(), "certmint-review-csr-"));
  try {
    const keyFile = join(dir, "key.pem");
    writeFileSync(keyFile, key.export({ format: "pem", type: "pkcs8" }) as string);
    execFileSync(
      "openssl",
      [
        "req",
        "-new",
        "-key",
        keyFile,
        "-subj",
        subject,
        "-addext",
        `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}`,
        "-outform",
        "DER",
        "-out",
        join(dir, "csr.der"),
      ],
      { stdio: "ignore" },
    );
    return readFileSync(join(dir, "csr.der"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const pemToDer = (pem: string) =>
  Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");

/** Security review of the ACME port (2026-12): each test failed before its fix in src/acme. */
describe("ACME review: finalize, JWS headers, authorization budget", () => {
  let s: AcmeServer;
  let challengeServer: Server;
  let answer = "";

  beforeAll(async () => {
    s = await startAcmeServer({ CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR: "0" });
    challengeServer = createServer((_req, res) => res.end(answer));
    await new Promise<void>((r) => challengeServer.listen(s.httpPort, "127.0.0.1", r));
    // A profile whose policy allows an emailAddress in the subject and email SANs, and copies
    // subject names into the SANs (the default, COPY).
    await call(s.h.policies, "createCertificatePolicy", {
      certificatePolicy: CertificatePolicy.fromPartial({
        slug: "mail-acme-policy",
        sanRules: {
          dns: { allowed: ["**.acme.localhost"] },
          email: { allowed: ["@corp.example"] },
        },
        subjectRules: { commonName: { allowed: ["*"] }, emailAddress: { allowed: ["*"] } },
        maxTtl: { seconds: String(90 * 86_400), nanos: 0 },
      }),
      preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
    });
    await call(s.h.profiles, "createCertificateProfile", {
      certificateProfile: CertificateProfile.fromPartial({
        slug: "mail-acme",
        certificatePolicy: "mail-acme-policy",
        issuer: { $case: "certificateAuthority", value: "root" },
        enrollmentMethod: EnrollmentMethod.ENROLLMENT_METHOD_ACME,
      }),
    });
  });
  afterAll(async () => {
    challengeServer?.close();
    await s?.h.stop();
  });

  const client = (profile = "web-acme") => new AcmeTestClient(s.directory(profile), s.tlsCaFile);
  const orderRow = async (url: string) =>
    (
      await s.h.db.query<{ status: string; certificate_id: string | null }>(
        "select status, certificate_id from acme_order where id = $1",
        [url.split("/").at(-1)],
      )
    )[0]!;

  /** An order of `c` for `name`, validated with http-01 and ready. */
  async function readyOrder(c: AcmeTestClient, name: string) {
    const order = await c.newOrder([name]);
    expect(order.status, order.text).toBe(201);
    const url = order.headers.location as string;
    const authzUrl = (order.json.authorizations as string[])[0]!;
    const http01 = (
      (await c.post(authzUrl, "")).json.challenges as Array<{
        type: string;
        url: string;
        token: string;
      }>
    ).find((ch) => ch.type === "http-01")!;
    answer = `${http01.token}.${thumbprint(publicJwk(c.key.publicKey))}`;
    await c.post(http01.url, {});
    await waitFor(`${name} ready`, async () => (await c.post(url, "")).json.status === "ready");
    return { url, authzUrl, finalize: order.json.finalize as string };
  }

  it("refuses a CSR whose key is an ACME account key (RFC 8555 11.1), its own or another's", async () => {
    const c = client();
    await c.register();
    const other = client();
    await other.register();
    for (const [key, name] of [
      [c.key.privateKey, "own-key.acme.localhost"],
      [other.key.privateKey, "other-key.acme.localhost"],
    ] as const) {
      const order = await readyOrder(c, name);
      const der = csrWithKey(key, `/CN=${name}`, [name]);
      const r = await c.post(order.finalize, { csr: b64u(der) });
      expect([r.status, r.json.type], r.text).toEqual([400, `${ACME}badCSR`]);
      expect(await orderRow(order.url)).toEqual({ status: "ready", certificate_id: null });
    }
  });

  it("refuses to finalize once an authorization of the order was deactivated", async () => {
    const c = client();
    await c.register();
    const order = await readyOrder(c, "relinquished.acme.localhost");
    const deactivated = await c.post(order.authzUrl, { status: "deactivated" });
    expect(deactivated.json.status).toBe("deactivated");
    const csr = opensslCsr("/CN=relinquished.acme.localhost", ["DNS:relinquished.acme.localhost"]);
    const r = await c.post(order.finalize, { csr: b64u(pemToDer(csr.csrPem)) });
    // RFC 8555 7.1.6: the deactivation made the order invalid (since stop 51; before, the order
    // stayed ready and this finalize was 403 unauthorized).
    expect([r.status, r.json.type], r.text).toEqual([403, `${ACME}orderNotReady`]);
    expect(await orderRow(order.url)).toEqual({ status: "invalid", certificate_id: null });
  });

  it("refuses an emailAddress in the CSR's subject (it would be copied into an email SAN)", async () => {
    const c = client("mail-acme");
    await c.register();
    const name = "mail.acme.localhost";
    const order = await readyOrder(c, name);
    const csr = opensslCsr(`/CN=${name}/emailAddress=ceo@corp.example`, [`DNS:${name}`]);
    const r = await c.post(order.finalize, { csr: b64u(pemToDer(csr.csrPem)) });
    expect([r.status, r.json.type], r.text).toEqual([400, `${ACME}badCSR`]);
    expect(await orderRow(order.url)).toEqual({ status: "ready", certificate_id: null });
    // The same CSR without it issues: the refusal is the emailAddress alone.
    const plain = opensslCsr(`/CN=${name}`, [`DNS:${name}`]);
    const done = await c.post(order.finalize, { csr: b64u(pemToDer(plain.csrPem)) });
    expect(done.json.status, done.text).toBe("valid");
  });

  it("refuses JWS header extensions it does not understand (crit, b64)", async () => {
    const c = client();
    const accounts = Number(
      (await s.h.db.query<{ n: string }>("select count(*) as n from acme_account"))[0]!.n,
    );
    const url = (await c.directory()).newAccount!;
    for (const extra of [{ crit: ["exp"], exp: 1 }, { b64: false, crit: ["b64"] }, { b64: true }]) {
      const header = b64u(
        JSON.stringify({
          alg: "ES256",
          nonce: await c.nonce(),
          url,
          jwk: publicJwk(c.key.publicKey),
          ...extra,
        }),
      );
      const payload = b64u(JSON.stringify({ termsOfServiceAgreed: true }));
      const signature = jwsSign("ES256", c.key.privateKey, `${header}.${payload}`);
      const r = await c.http(
        "POST",
        url,
        JSON.stringify({ protected: header, payload, signature: b64u(signature) }),
      );
      expect([r.status, r.json.type], JSON.stringify(extra)).toEqual([400, `${ACME}malformed`]);
    }
    const after = Number(
      (await s.h.db.query<{ n: string }>("select count(*) as n from acme_account"))[0]!.n,
    );
    expect(after).toBe(accounts);
  });

  it("answers a payload that is not a JSON object with malformed, not a 500", async () => {
    const c = client();
    await c.register();
    const order = await c.newOrder(["null-payload.acme.localhost"]);
    const authzUrl = (order.json.authorizations as string[])[0]!;
    for (const payload of [null, [], 7]) {
      const r = await c.post(authzUrl, payload);
      expect([r.status, r.json.type], JSON.stringify(payload)).toEqual([400, `${ACME}malformed`]);
      const account = await c.post(c.kid!, payload);
      expect([account.status, account.json.type]).toEqual([400, `${ACME}malformed`]);
    }
    expect((await c.post(authzUrl, "")).json.status).toBe("pending");
  });

  it("limits the authorizations one account creates (rateLimited), storing nothing past it", async () => {
    const c = client();
    await c.register();
    const accountId = c.kid!.split("/").at(-1);
    const authorizations = async () =>
      Number(
        (
          await s.h.db.query<{ n: string }>(
            "select count(*) as n from acme_authorization where account_id = $1",
            [accountId],
          )
        )[0]!.n,
      );
    const names = (batch: number) =>
      Array.from({ length: 100 }, (_, i) => `n${i}.b${batch}.acme.localhost`);
    for (let batch = 0; batch < ACME_NEW_AUTHORIZATIONS_PER_ACCOUNT / 100; batch++) {
      const r = await c.newOrder(names(batch));
      expect(r.status, r.text).toBe(201);
    }
    expect(await authorizations()).toBe(ACME_NEW_AUTHORIZATIONS_PER_ACCOUNT);
    // 100 more identifiers: the budget refills one every 10.8 s (1,000 per 3 hours), so on a
    // slow machine a single identifier could already fit again; 100 cannot for 18 minutes.
    const past = await c.newOrder(names(ACME_NEW_AUTHORIZATIONS_PER_ACCOUNT / 100));
    expect([past.status, past.json.type], past.text).toEqual([429, `${ACME}rateLimited`]);
    expect(Number(past.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(await authorizations()).toBe(ACME_NEW_AUTHORIZATIONS_PER_ACCOUNT);
    // Another account has its own budget.
    const d = client();
    await d.register();
    expect((await d.newOrder(["other-account.acme.localhost"])).status).toBe(201);
  });
});

describe("ACME review: validation targets by default (no CERTMINT_ACME_VALIDATION_NETWORKS)", () => {
  const targets = new ValidationTargets(undefined);

  it("allows unicast IPv4 and IPv6 addresses, including IPv4-mapped ones of allowed addresses", () => {
    for (const a of ["10.0.0.1", "192.0.2.7", "2001:db8::1", "::ffff:10.0.0.1", "64:ff9b::a00:1"]) {
      expect(targets.allows(a), a).toBe(true);
    }
  });

  it("refuses loopback, link-local and cloud metadata however they are written", () => {
    for (const a of [
      "127.0.0.1",
      "169.254.169.254",
      "100.100.100.200",
      "::1",
      "::",
      "::ffff:127.0.0.1",
      "::ffff:a9fe:a9fe",
      "::7f00:1",
      "fe80::1",
      "fd00:ec2::254",
      "64:ff9b::169.254.169.254",
      "64:ff9b::7f00:1",
      "2002:a9fe:a9fe::1",
    ]) {
      expect(targets.allows(a), a).toBe(false);
    }
    expect(embeddedIpv4("2002:7f00:1::")).toBe("127.0.0.1");
    expect(embeddedIpv4("2001:db8::1")).toBeUndefined();
  });
});
