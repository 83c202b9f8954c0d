/**
 * Probe 52 (REVOCATION): the CertID an OCSP response carries is the one its requester sent
 * (RFC 6960 4.2.1: a SingleResponse names the certificate by the CertID of the request;
 * clients find their status by comparing it with their own), also when the response comes from
 * the responder's cache of answers without nonce, which anyone may fill without credentials.
 * Two CertIDs of one certificate differ only in how the hash AlgorithmIdentifier is written
 * (parameters NULL, as OpenSSL and Go send, or absent, as RFC 5754 2 prefers), or in parameters
 * an attacker chooses.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import {
  createRootCa,
  createWebProfile,
  type LiveCertmint,
  startLive,
} from "../../probe49/cert/live";
import { TempDir } from "../../support/openssl";
import { hex } from "../../support/raw-der";
import {
  certStatus,
  firstCertId,
  issueLeaf,
  ocspGet,
  ocspRequest,
  readOcsp,
  withCertIdHashParams,
} from "./kit";

describe("probe52 revocation: the CertID of a cached OCSP answer", () => {
  let live: LiveCertmint;
  const tmp = new TempDir();
  let caFile = "";
  let n = 0;

  beforeAll(async () => {
    live = await startLive();
    const root = await createRootCa(live, "root", KeyAlgorithm.KEY_ALGORITHM_EC_P256);
    caFile = tmp.file("root.pem", root.certificatePem);
    await createWebProfile(live, "root");
  });

  afterAll(async () => {
    await live?.stop();
    tmp.remove();
  });

  const post = async (der: Buffer) => {
    const res = await fetch(live.ocspUrl, {
      method: "POST",
      headers: { "content-type": "application/ocsp-request" },
      body: der,
    });
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  };

  it.each([
    ["absent parameters (RFC 5754)", undefined],
    ["parameters an attacker chose", hex("04 0e 70 72 6f 62 65 35 32 20 70 6f 69 73 6f 6e")],
  ])(
    "an answer cached for a CertID with %s is not served to a client that sent NULL",
    async (_, params) => {
      const leaf = await issueLeaf(live, "web", `cid${n++}.example.com`);
      const canonical = ocspRequest(tmp, caFile, ["-cert", tmp.file("l.pem", leaf.pem)]);
      const variant = withCertIdHashParams(canonical, params);
      expect(firstCertId(variant)).not.toEqual(firstCertId(canonical));
      // Someone (anyone: the port needs no credential) asks first with the variant, no nonce.
      const first = await post(variant);
      // Refused as malformed (parameters other than absent or NULL: src/signer/ocsp.ts), or
      // answered with its own CertID.
      const malformed = first.equals(Buffer.from("30030a0101", "hex"));
      if (!malformed) expect(first.includes(firstCertId(variant))).toBe(true);
      // Then an ordinary client asks for the same certificate, within the cache period.
      const res = await ocspGet(live, canonical);
      const o = readOcsp(tmp, res.der, caFile);
      expect(o.verified, o.raw.stderr).toBe(true);
      expect(certStatus(o.text)).toBe("good");
      expect({
        ownCertId: res.der.includes(firstCertId(canonical)),
        othersCertId: res.der.includes(firstCertId(variant)),
      }).toEqual({ ownCertId: true, othersCertId: false });
    },
  );
});
