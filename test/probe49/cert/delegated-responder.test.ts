/**
 * Probe 49 (CERT): with CERTMINT_OCSP_RESPONDER=delegated, the responder certificates each CA
 * certifies are certificates too: RFC 5280 (rfc5280.ts) and RFC 6960 4.2.2.2 (id-kp-OCSPSigning,
 * id-pkix-ocsp-nocheck, digitalSignature) for CAs of every key type, and `openssl ocsp` accepts
 * the responses they sign.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import { TempDir } from "../../support/openssl";
import { waitFor } from "../../support/wait";
import {
  attributesRequest,
  createPolicy,
  createProfile,
  createRootCa,
  issueCertificate,
  type LiveCertmint,
  ocspQuery,
  startLive,
  WEB_RULES,
} from "./live";
import { rfc5280Problems } from "./rfc5280";
import { extKeyUsage, keyUsage, OID, parseCert } from "./x509";

const A = KeyAlgorithm;
const KINDS: Array<[string, KeyAlgorithm]> = [
  ["p256", A.KEY_ALGORITHM_EC_P256],
  ["p384", A.KEY_ALGORITHM_EC_P384],
  ["rsa2048", A.KEY_ALGORITHM_RSA_2048],
  ["ed25519", A.KEY_ALGORITHM_ED25519],
];
const NOCHECK = "1.3.6.1.5.5.7.48.1.5";
const OCSP_SIGNING = "1.3.6.1.5.5.7.3.9";

describe("probe49 cert: delegated OCSP responders", () => {
  let live: LiveCertmint;
  const tmp = new TempDir();
  const roots: Record<string, { id: string; pem: string }> = {};

  beforeAll(async () => {
    live = await startLive({ CERTMINT_OCSP_RESPONDER: "delegated" });
    await createPolicy(live, "web", WEB_RULES);
    for (const [name, alg] of KINDS) {
      const root = await createRootCa(live, `root-${name}`, alg);
      roots[name] = { id: root.id, pem: root.certificatePem };
      await createProfile(live, `web-${name}`, "web", { ca: `root-${name}` });
    }
  });

  afterAll(async () => {
    await live?.stop();
    tmp.remove();
  });

  it.each(KINDS)("a %s CA's responder certificate and its answers", async (name) => {
    const cn = `d.${name}.example.com`;
    const res = await issueCertificate(
      live,
      attributesRequest(`web-${name}`, { cn, sans: { dnsNames: [cn] } }),
    );
    const caFile = tmp.file("ca.pem", roots[name]!.pem);
    const o = ocspQuery(live, {
      issuer: caFile,
      ask: ["-cert", tmp.file("l.pem", res.certificate!.certificatePem)],
      caFile: caFile,
    });
    expect(o.stderr, o.stdout).toMatch(/Response verify OK/);
    expect(o.stdout).toMatch(/: good/);
    let rows: Array<{ certificate_pem: string | null }> = [];
    await waitFor("the responder certificate's row", async () => {
      rows = await live.db.query(
        "select certificate_pem from ocsp_responder_certificate where ca_id = $1",
        [roots[name]!.id],
      );
      return rows.some((r) => r.certificate_pem);
    });
    const pem = rows.find((r) => r.certificate_pem)!.certificate_pem!;
    expect(rfc5280Problems(pem, roots[name]!.pem, "leaf")).toEqual([]);
    const c = parseCert(pem);
    expect(extKeyUsage(c.ext(OID.extKeyUsage)!.value)).toEqual([OCSP_SIGNING]);
    expect(c.ext(NOCHECK)).toBeDefined();
    expect(keyUsage(c.ext(OID.keyUsage)!.value).bits).toContain("digitalSignature");
    expect(c.ext(OID.crlDistributionPoints)).toBeUndefined();
    const days = (Date.parse(c.node.validTo) - Date.parse(c.node.validFrom)) / 86_400_000;
    expect(days).toBeLessThanOrEqual(7);
  });
});
