/**
 * CreateIntermediateCertificateAuthority with permitted subtrees of some name kinds forbids the
 * kinds the caller gave no subtree of, as a sub-CA issued through a profile forbids what its
 * policy allows nothing of (policy-engine forbidKind: excluded "" for DNS, excluded 0.0.0.0/0
 * and ::/0 for IP, permitted nowhere.invalid for email and URI; CA/B BR 7.1.2.10.8). So
 * `--permit-dns example.com` gives a CA that "may only certify names under example.com"
 * (README), and openssl refuses an IP address or URI certified below it. Until stop 44 of
 * 2026-12-06 only the DNS subtree was written (RFC 5280 4.2.1.10 constrains only the kinds that
 * appear): IP addresses, URIs and email addresses were free (an outside probe, E F6).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateIntermediateCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import type { NameConstraints } from "../../gen/ts/certmint/v1/common";
import type { DeepPartial } from "../../gen/ts/google/protobuf/timestamp";
import { type PolicySpec, presetSpec } from "../../src/issuance/policy-engine";
import { csrRequest, issue } from "../certificates/helpers";
import { buildCsr } from "../support/der-csr";
import { createProfileRows, createRoot } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { extensionBlock, openssl, opensslOk, TempDir } from "../support/openssl";

const none = { dnsNames: [], ipRanges: [], emailAddresses: [], uriHosts: [] };

/** A sub-CA policy that leaves IP addresses and URIs free: only the CA above can forbid them. */
function openSubCaSpec(): PolicySpec {
  const spec = presetSpec("INTERMEDIATE_CA");
  spec.basicConstraints = { ca: "ALLOWED", maxPathLength: 0 };
  spec.keyUsages = {
    allowed: ["DIGITAL_SIGNATURE", "KEY_CERT_SIGN", "CRL_SIGN"],
    required: ["DIGITAL_SIGNATURE"],
    denied: [],
  };
  spec.subject = { COMMON_NAME: { allowed: ["*"], denied: [], required: true } };
  spec.sans = {
    dns: { allowed: ["**.example.com"], denied: [], required: false },
    ip: { allowed: ["0.0.0.0/0", "::/0"], denied: [], required: false },
    email: { allowed: [], denied: [], required: false },
    uri: { allowed: [], denied: [], required: false },
  };
  return spec;
}

describe("an intermediate's name constraints forbid the name kinds left out", () => {
  let h: TestCertmint;
  let rootPem = "";
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint();
    rootPem = (await createRoot(h, "root")).certificatePem;
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  const create = (slug: string, parent: string, nc: DeepPartial<NameConstraints>) =>
    call(
      h.authorities,
      "createIntermediateCertificateAuthority",
      CreateIntermediateCertificateAuthorityRequest.fromPartial({
        slug,
        parentCertificateAuthority: parent,
        subject: { commonName: `${slug} CA` },
        nameConstraints: nc,
      }),
    ).then((r) => r.certificateAuthority!);

  /** A leaf with `san` signed outside certmint by a key certmint certified as a CA. */
  function leafFrom(caPem: string, caKeyPem: string, san: string, name: string): string {
    const key = tmp.out(`${name}.key`);
    const csr = tmp.out(`${name}.csr`);
    opensslOk([
      "req",
      "-new",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      key,
      "-out",
      csr,
      "-subj",
      "/O=Leaf",
    ]);
    const ext = tmp.file(
      `${name}.cnf`,
      `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectAltName=${san}\n`,
    );
    return opensslOk([
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      tmp.file(`${name}-ca.pem`, caPem),
      "-CAkey",
      tmp.file(`${name}-ca.key`, caKeyPem),
      "-CAcreateserial",
      "-days",
      "30",
      "-extfile",
      ext,
      "-sha256",
    ]);
  }

  it("--permit-dns example.com alone: IP, email and URI forbidden; openssl refuses an IP or URI below it", async () => {
    const ca = await create("dns-only", "root", { permitted: { dnsNames: ["example.com"] } });
    expect(ca.nameConstraints).toEqual({
      permitted: {
        ...none,
        dnsNames: ["example.com"],
        emailAddresses: ["nowhere.invalid"],
        uriHosts: ["nowhere.invalid"],
      },
      excluded: { ...none, ipRanges: ["0.0.0.0/0", "::/0"] },
    });
    const text = opensslOk(["x509", "-noout", "-text"], ca.certificatePem);
    expect(extensionBlock(text, "X509v3 Name Constraints").critical).toBe(true);

    // A sub-CA under it whose own constraints leave IP addresses and URIs free, with a key this
    // test holds: what openssl accepts below it is the intermediate's constraints alone.
    await createProfileRows(h, { slug: "open-sub", caId: ca.id, spec: openSubCaSpec() });
    const { csrPem, privateKey } = buildCsr({ subject: [["CN", "Open Sub CA"]], ca: {} });
    const sub = (await issue(h, csrRequest("open-sub", csrPem))).certificate!;
    const subKey = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const chain = tmp.file("chain.pem", sub.certificatePem + ca.certificatePem);
    const verify = (leaf: string) =>
      openssl([
        "verify",
        "-x509_strict",
        "-CAfile",
        tmp.file("root.pem", rootPem),
        "-untrusted",
        chain,
        tmp.file("leaf.pem", leaf),
      ]);
    const dns = verify(leafFrom(sub.certificatePem, subKey, "DNS:a.example.com", "dns"));
    expect(dns.stdout + dns.stderr).toMatch(/: OK/);
    const ip = verify(leafFrom(sub.certificatePem, subKey, "IP:8.8.8.8", "ip"));
    expect(ip.code).not.toBe(0);
    expect(ip.stdout + ip.stderr).toMatch(/excluded subtree violation/);
    const ip6 = verify(leafFrom(sub.certificatePem, subKey, "IP:2001:db8::1", "ip6"));
    expect(ip6.stdout + ip6.stderr).toMatch(/excluded subtree violation/);
    const uri = verify(leafFrom(sub.certificatePem, subKey, "URI:https://bank.evil.org/x", "uri"));
    expect(uri.code).not.toBe(0);
    expect(uri.stdout + uri.stderr).toMatch(/permitted subtree violation/);
  });

  it("a kind given a subtree, permitted or excluded, is bound by it alone; exclusions only change nothing", async () => {
    const open = await create("dns-any-ip", "root", {
      permitted: { dnsNames: ["example.com"], ipRanges: ["0.0.0.0/0", "::/0"] },
      excluded: { uriHosts: ["evil.example"] },
    });
    expect(open.nameConstraints).toEqual({
      permitted: {
        ...none,
        dnsNames: ["example.com"],
        ipRanges: ["0.0.0.0/0", "::/0"],
        emailAddresses: ["nowhere.invalid"],
      },
      excluded: { ...none, uriHosts: ["evil.example"] },
    });
    const onlyExcluded = await create("no-evil", "root", {
      excluded: { dnsNames: ["evil.example.com"] },
    });
    expect(onlyExcluded.nameConstraints).toEqual({
      permitted: none,
      excluded: { ...none, dnsNames: ["evil.example.com"] },
    });
  });

  it("below a CA that permits email subtrees, the child forbids email by excluding them, and is created", async () => {
    await create("mail", "root", {
      permitted: { dnsNames: ["example.com"], emailAddresses: ["example.com"] },
    });
    const child = await create("mail-child", "mail", {
      permitted: { dnsNames: ["a.example.com"] },
    });
    // URI: "mail" permits only nowhere.invalid (it forbids URIs), so that is excluded too.
    expect(child.nameConstraints).toEqual({
      permitted: { ...none, dnsNames: ["a.example.com"] },
      excluded: {
        ...none,
        ipRanges: ["0.0.0.0/0", "::/0"],
        emailAddresses: ["example.com"],
        uriHosts: ["nowhere.invalid"],
      },
    });
  });
});
