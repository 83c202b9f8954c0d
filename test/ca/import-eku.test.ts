/**
 * An outside CA certificate with extendedKeyUsage is imported (CA/Browser Forum subordinate CAs
 * carry EKU legitimately), and what certmint signs under it is kept within it and within every
 * EKU above it: OpenSSL's purpose checks, Go and Windows treat a CA's EKU as a limit on the
 * path (RFC 5280 4.2.1.12 leaves it to applications). A leaf or sub-CA asking for a purpose
 * outside is refused FAILED_PRECONDITION ISSUER_EXTENDED_KEY_USAGE naming the CA and what it
 * allows, on every path (generated key, CSR, renewal, sub-CA through a profile), and nothing is
 * stored; inside it is signed, and `openssl verify -purpose` agrees with both verdicts. Until
 * stop 44 of 2026-12-06 serverAuth leaves were signed under a clientAuth-only CA, and every TLS
 * client refused them (outside probes C F1 inteku/rooteku, E F11 ekucli).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExtendedKeyUsage } from "../../gen/ts/certmint/v1/common";
import { presetSpec } from "../../src/issuance/policy-engine";
import {
  attrRequest,
  Code,
  compilePolicy,
  countRows,
  csrRequest,
  issue,
  issueRequest,
  renewRequest,
  rpcError,
} from "../certificates/helpers";
import { buildCsr } from "../support/der-csr";
import { createProfileRows, opensslCsr, tlsServerSpec } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import {
  ACTIVE,
  CA_EXTENSIONS,
  createExternal,
  openssl,
  opensslOk,
  opensslRoot,
  opensslSign,
  TempDir,
} from "./helpers";

const SERVER_AUTH = ExtendedKeyUsage.EXTENDED_KEY_USAGE_SERVER_AUTH;

describe("issuing under an imported CA whose path carries extendedKeyUsage", () => {
  let h: TestCertmint;
  const tmp = new TempDir();
  let root: ReturnType<typeof opensslRoot>;
  let caPem = "";
  let clientPolicyId = "";
  const clientSpec = tlsServerSpec();

  beforeAll(async () => {
    h = await startTestCertmint();
    root = opensslRoot(tmp);
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  /** `openssl verify -x509_strict -purpose <purpose>` of leaf <- chain <- anchor. */
  const verify = (anchor: string, chain: string[], leaf: string, purpose: string) =>
    openssl([
      "verify",
      "-x509_strict",
      "-purpose",
      purpose,
      "-CAfile",
      tmp.file("anchor.pem", anchor),
      "-untrusted",
      tmp.file("chain.pem", chain.join("")),
      tmp.file("leaf.pem", leaf),
    ]);

  function expectEkuRefusal(err: Awaited<ReturnType<typeof rpcError>>, ca: RegExp) {
    expect(err.code, err.message).toBe(Code.FAILED_PRECONDITION);
    expect(err.reason).toBe("ISSUER_EXTENDED_KEY_USAGE");
    expect(err.message).toMatch(/allows only the extended key usages CLIENT_AUTH: SERVER_AUTH/);
    expect(err.preconditions).toEqual([
      {
        type: "CA_EXTENDED_KEY_USAGE",
        subject: expect.stringMatching(ca),
        description: "extendedKeyUsage CLIENT_AUTH does not include SERVER_AUTH",
      },
    ]);
  }

  it("imports a clientAuth-only CA; refuses serverAuth leaves (generated key, CSR), signs clientAuth ones; openssl agrees", async () => {
    const ca = await createExternal(h, "eku-client");
    caPem = opensslSign(tmp, ca.csrPem, root, [...CA_EXTENSIONS, "extendedKeyUsage=clientAuth"]);
    const imported = (
      await call(h.authorities, "importCertificateAuthorityCertificate", {
        certificateAuthority: "eku-client",
        certificatePem: caPem,
        certificateChainPem: [root.pem],
      })
    ).certificateAuthority!;
    expect(imported.status).toBe(ACTIVE);

    await createProfileRows(h, { slug: "eku-web", caId: ca.id, spec: tlsServerSpec() });
    clientSpec.extendedKeyUsages = {
      allowed: ["SERVER_AUTH", "CLIENT_AUTH"],
      required: ["CLIENT_AUTH"],
      denied: [],
    };
    ({ policyId: clientPolicyId } = await createProfileRows(h, {
      slug: "eku-mixed",
      caId: ca.id,
      spec: clientSpec,
    }));

    const before = await countRows(h, "certificate");
    const generated = await rpcError(
      issue(h, attrRequest("eku-web", { cn: "a.example.com", dns: ["a.example.com"] })),
    );
    expectEkuRefusal(generated, /External eku-client/);
    expect(generated.message).toMatch(/the issuing CA/);
    const { csrPem } = opensslCsr("/CN=b.example.com", ["DNS:b.example.com"]);
    expectEkuRefusal(await rpcError(issue(h, csrRequest("eku-web", csrPem))), /eku-client/);
    // Asked for explicitly on a profile that allows it: refused too.
    const asked = await rpcError(
      issue(
        h,
        issueRequest({
          ...attrRequest("eku-mixed", { cn: "c.example.com", dns: ["c.example.com"] }),
          extendedKeyUsages: [SERVER_AUTH],
        }),
      ),
    );
    expectEkuRefusal(asked, /eku-client/);
    expect(await countRows(h, "certificate")).toBe(before);

    // Inside the CA's EKU: signed, and openssl agrees it is a client certificate only.
    const inside = await issue(
      h,
      attrRequest("eku-mixed", { cn: "d.example.com", dns: ["d.example.com"] }),
    );
    const leaf = inside.certificate!.certificatePem;
    expect(
      opensslOk(["x509", "-noout", "-ext", "extendedKeyUsage", "-in", tmp.file("l.pem", leaf)]),
    ).toMatch(/TLS Web Client Authentication/);
    const client = verify(root.pem, [caPem], leaf, "sslclient");
    expect(client.code, client.stdout + client.stderr).toBe(0);
    const server = verify(root.pem, [caPem], leaf, "sslserver");
    expect(server.code).not.toBe(0);
    expect(server.stdout + server.stderr).toMatch(
      /unsupported certificate purpose|unsuitable certificate purpose/,
    );

    // A renewal that the policy now makes serverAuth too: refused, nothing stored.
    clientSpec.extendedKeyUsages.required.push("SERVER_AUTH");
    await h.db.query(
      "update certificate_policy set spec = $2, version = version + 1, updated_at = now() where id = $1",
      [clientPolicyId, JSON.stringify(compilePolicy(clientSpec).spec)],
    );
    const beforeRenewal = await countRows(h, "certificate");
    const renewal = await rpcError(
      call(
        h.certificates,
        "renewCertificate",
        renewRequest({ certificateId: inside.certificate!.certificateId }),
      ),
    );
    expectEkuRefusal(renewal, /eku-client/);
    expect(await countRows(h, "certificate")).toBe(beforeRenewal);
  });

  it("refuses a sub-CA through a profile asking for an EKU outside the CA's", async () => {
    const ca = (
      await call(h.authorities, "getCertificateAuthority", { certificateAuthority: "eku-client" })
    ).certificateAuthority!;
    const spec = presetSpec("INTERMEDIATE_CA");
    spec.basicConstraints = { ca: "ALLOWED", maxPathLength: 0 };
    spec.subject = { COMMON_NAME: { allowed: ["*"], denied: [], required: true } };
    spec.extendedKeyUsages = { allowed: ["SERVER_AUTH", "CLIENT_AUTH"], required: [], denied: [] };
    await createProfileRows(h, { slug: "eku-sub-ca", caId: ca.id, spec });
    const { csrPem } = buildCsr({ subject: [["CN", "Sub under eku-client"]], ca: {} });
    const before = await countRows(h, "certificate");
    const err = await rpcError(
      issue(h, { ...csrRequest("eku-sub-ca", csrPem), extendedKeyUsages: [SERVER_AUTH] }),
    );
    expectEkuRefusal(err, /eku-client/);
    expect(await countRows(h, "certificate")).toBe(before);
  });

  it("keeps leaves within an EKU on the outside root (two levels up); openssl agrees", async () => {
    // An outside root that only certifies TLS servers and clients of its own: serverAuth.
    const keyPath = tmp.out("eku-root.key");
    const certPath = tmp.out("eku-root.pem");
    opensslOk([
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      keyPath,
      "-out",
      certPath,
      "-days",
      "3650",
      "-subj",
      "/O=Outside Corp/CN=Client Root",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
      "-addext",
      "subjectKeyIdentifier=hash",
      "-addext",
      "extendedKeyUsage=clientAuth",
    ]);
    const ekuRoot = { keyPath, certPath, pem: opensslOk(["x509", "-in", certPath]) };
    const ca = await createExternal(h, "eku-below-root");
    const pem = opensslSign(tmp, ca.csrPem, ekuRoot, CA_EXTENSIONS); // no EKU of its own
    await call(h.authorities, "importCertificateAuthorityCertificate", {
      certificateAuthority: "eku-below-root",
      certificatePem: pem,
      certificateChainPem: [ekuRoot.pem],
    });
    await createProfileRows(h, { slug: "eku-root-web", caId: ca.id, spec: tlsServerSpec() });
    const err = await rpcError(
      issue(h, attrRequest("eku-root-web", { cn: "e.example.com", dns: ["e.example.com"] })),
    );
    expectEkuRefusal(err, /Client Root/);
    expect(err.message).toMatch(/above the issuing CA/);

    const spec = tlsServerSpec();
    spec.extendedKeyUsages = { allowed: ["CLIENT_AUTH"], required: ["CLIENT_AUTH"], denied: [] };
    await createProfileRows(h, { slug: "eku-root-client", caId: ca.id, spec });
    const leaf = (
      await issue(
        h,
        attrRequest("eku-root-client", { cn: "f.example.com", dns: ["f.example.com"] }),
      )
    ).certificate!.certificatePem;
    expect(verify(ekuRoot.pem, [pem], leaf, "sslclient").code).toBe(0);
    expect(verify(ekuRoot.pem, [pem], leaf, "sslserver").code).not.toBe(0);
  });
});
