/**
 * Probe 50 (TLSUSE): name constraints in handshakes. An intermediate made with name
 * constraints (critical, RFC 5280 4.2.1.10) still yields leaves every TLS stack accepts; certmint
 * itself refuses a leaf outside them; and a leaf outside them signed by a sub-CA that certmint
 * certified through a profile (a key certmint never held, so certmint cannot stop it) is refused
 * by every client, by Go's crypto/x509 and by `openssl verify`: the constraint is enforced where
 * it matters, by relying parties.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificatePolicyPreset } from "../../../gen/ts/certmint/v1/certificate_policy_service";
import {
  attributesRequest,
  certificateCount,
  createPolicy,
  createProfile,
  csrRequest,
  issueCertificate,
  type LiveCertmint,
  startLive,
} from "../../probe49/cert/live";
import { buildCsr } from "../../support/der-csr";
import { expectRpcError } from "../../support/harness";
import { openssl, opensslOk, TempDir } from "../../support/openssl";
import { A, type Ca, issueDeployed, makeCas, makeProfile } from "./chains";
import { errors, every, type NodeServer, outcome, Peers, serveNode } from "./peers";

const GO_VERIFY = join(__dirname, "..", "..", "x509", "go-verify");

describe("probe50 tlsuse: name constraints enforced by relying parties", () => {
  let live: LiveCertmint;
  let peers: Peers;
  const tmp = new TempDir();
  let root: Ca;
  let inter: Ca;
  let rootFile = "";
  const servers: NodeServer[] = [];

  /** A leaf for `san` (openssl -extfile syntax) signed outside certmint by the sub-CA's key. */
  const leafFromSubCa = (subPem: string, subKeyPem: string, san: string) => {
    const key = tmp.out("leaf.key");
    const csr = tmp.out("leaf.csr");
    opensslOk(
      ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"].concat([
        "-keyout",
        key,
        "-out",
        csr,
        "-subj",
        "/O=Outside",
      ]),
    );
    const ext = tmp.file(
      "ext.cnf",
      `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`,
    );
    const pem = opensslOk(
      ["x509", "-req", "-in", csr, "-CA", tmp.file("sub.pem", subPem)]
        .concat(["-CAkey", tmp.file("sub.key", subKeyPem), "-CAcreateserial", "-days", "7"])
        .concat(["-extfile", ext, "-sha256"]),
    );
    return { pem, keyFile: key, keyPem: opensslOk(["pkey", "-in", key]) };
  };
  const goVerify = (leafPem: string, intermediates: string): { ok: boolean; error?: string } => {
    const out = execFileSync(
      "go",
      ["run", ".", rootFile, tmp.file("inters.pem", intermediates), tmp.file("leaf.pem", leafPem)],
      {
        cwd: GO_VERIFY,
        encoding: "utf8",
        env: { ...process.env, GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local" },
      },
    );
    return JSON.parse(out.trim().split("\n").pop()!);
  };
  const opensslVerify = (leafPem: string, intermediates: string) =>
    openssl(
      ["verify", "-x509_strict", "-CAfile", rootFile, "-untrusted"].concat([
        tmp.file("u.pem", intermediates),
        tmp.file("l.pem", leafPem),
      ]),
    );

  beforeAll(async () => {
    [live, peers] = await Promise.all([startLive(), Peers.build(tmp.path)]);
    ({ root, inter } = await makeCas(live, "nc", A.KEY_ALGORITHM_EC_P256, {
      nameConstraints: { permitted: { dnsNames: ["example.com"], ipRanges: ["127.0.0.0/8"] } },
      maxPathLength: 1,
    }));
    rootFile = tmp.file("root.pem", root.pem);
    await makeProfile(live, "web", inter.slug);
  }, 150_000);

  afterAll(async () => {
    for (const s of servers) await s.close();
    await live?.stop();
    tmp.remove();
  });

  it("a leaf inside the intermediate's constraints passes every TLS stack", async () => {
    const text = opensslOk(["x509", "-noout", "-text", "-in", tmp.file("i.pem", inter.pem)]);
    expect(text).toMatch(/X509v3 Name Constraints: critical/);
    const leaf = await issueDeployed(live, tmp, "web", {
      cn: "api.example.com",
      sans: { dnsNames: ["api.example.com"], ipAddresses: ["127.0.0.1"] },
      keyAlgorithm: A.KEY_ALGORITHM_EC_P256,
    });
    const node = await serveNode(leaf.keyPem, leaf.pem + leaf.chainPem);
    servers.push(node);
    const verdicts = await peers.all([
      { port: node.port, name: "api.example.com", rootFile },
      { port: node.port, name: "127.0.0.1", rootFile },
    ]);
    for (const v of verdicts) expect(outcome(v), errors(v)).toEqual(every("ok"));
  });

  it("certmint refuses a leaf outside the intermediate's constraints and stores nothing", async () => {
    await createPolicy(live, "wide", {
      sanRules: { dns: { allowed: ["**.example.net"] } },
      subjectRules: { commonName: { allowed: ["*"] } },
    });
    await createProfile(live, "wide", "wide", { ca: inter.slug });
    const before = await certificateCount(live.db);
    const e = await expectRpcError(
      issueCertificate(
        live,
        attributesRequest("wide", {
          cn: "api.example.net",
          sans: { dnsNames: ["api.example.net"] },
        }),
      ),
    );
    expect(e.code).toBe(9); // FAILED_PRECONDITION
    expect(e.reason).toBe("ISSUER_NAME_CONSTRAINTS");
    expect(await certificateCount(live.db)).toBe(before);
  });

  it("IPv6 forms of a permitted IPv4 address are refused, as relying parties would refuse them", async () => {
    // Go and OpenSSL match an iPAddress only against constraints of its own length (RFC 5280
    // 4.2.1.10): ::ffff:127.0.0.1 is outside a permitted 127.0.0.0/8, though the policy
    // engine reads it as that IPv4 address.
    await createPolicy(live, "v6", {
      sanRules: { dns: { allowed: ["**.example.com"] }, ip: { allowed: ["127.0.0.0/8", "::/0"] } },
      subjectRules: { commonName: { allowed: ["*"] } },
    });
    await createProfile(live, "v6", "v6", { ca: inter.slug });
    for (const ip of ["::ffff:127.0.0.1", "::1"]) {
      const before = await certificateCount(live.db);
      const e = await expectRpcError(
        issueCertificate(
          live,
          attributesRequest("v6", {
            cn: "api.example.com",
            sans: { dnsNames: ["api.example.com"], ipAddresses: [ip] },
          }),
        ),
      );
      expect({ ip, code: e.code, reason: e.reason }).toEqual({
        ip,
        code: 9,
        reason: "ISSUER_NAME_CONSTRAINTS",
      });
      expect(await certificateCount(live.db)).toBe(before);
    }
  });

  it("a leaf outside the constraints, signed by a certified sub-CA, is refused by every verifier", async () => {
    await createPolicy(
      live,
      "sub-ca",
      {
        sanRules: { dns: { allowed: ["**.example.com"] }, ip: { allowed: ["127.0.0.0/8"] } },
        subjectRules: { commonName: { allowed: ["*"] } },
      },
      CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_INTERMEDIATE_CA,
    );
    await createProfile(live, "sub-ca", "sub-ca", { ca: inter.slug });
    const { csrPem, privateKey } = buildCsr({ subject: [["CN", "Team Sub CA"]], ca: {} });
    const sub = (await issueCertificate(live, csrRequest("sub-ca", csrPem))).certificate!;
    const subKeyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const intermediates = sub.certificatePem + inter.pem;

    const inside = leafFromSubCa(sub.certificatePem, subKeyPem, "DNS:svc.example.com,IP:127.0.0.1");
    const outside = leafFromSubCa(
      sub.certificatePem,
      subKeyPem,
      "DNS:svc.example.org,IP:127.0.0.1",
    );
    expect(opensslVerify(inside.pem, intermediates).code).toBe(0);
    expect(goVerify(inside.pem, intermediates)).toEqual({ ok: true });
    const o = opensslVerify(outside.pem, intermediates);
    expect(o.code).not.toBe(0);
    expect(o.stdout + o.stderr).toMatch(/subtree violation/);
    const g = goVerify(outside.pem, intermediates);
    expect(g.ok).toBe(false);
    expect(g.error).toMatch(/constraint/);

    const good = await serveNode(inside.keyPem, inside.pem + intermediates);
    const bad = await serveNode(outside.keyPem, outside.pem + intermediates);
    servers.push(good, bad);
    const [ok] = await peers.all([{ port: good.port, name: "svc.example.com", rootFile }]);
    expect(outcome(ok!), errors(ok!)).toEqual(every("ok"));
    // Dialled by the name the leaf does carry, or by its in-range IP: the chain is what fails.
    for (const name of ["svc.example.org", "127.0.0.1"]) {
      const [v] = await peers.all([{ port: bad.port, name, rootFile }]);
      expect({ name, ...outcome(v!) }).toEqual({ name, ...every("refused") });
    }
  });
});
