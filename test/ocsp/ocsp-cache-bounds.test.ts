/**
 * The OCSP responder's response cache is bounded: a CertID with a serial longer than 20 octets
 * is refused with malformedRequest; answers for serials the CA never issued (`unknown`) are not
 * cached; good and revoked answers are, until their cache period ends (then dropped) or a
 * revocation, and never more than OCSP_CACHE_MAX_ENTRIES at once. The cache's size is read from
 * the responder the in-process server built (captured through a spy on its prototype).
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, type MockInstance, vi } from "vitest";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { OCSP_CACHE_MAX_ENTRIES, OcspResponder } from "../../src/issuance/ca/ocsp";
import { attrRequest } from "../certificates/helpers";
import { createProfileRows, createRoot } from "../support/fixtures";
import { call, startTestCertmint } from "../support/harness";
import { opensslOk, TempDir } from "../support/openssl";
import { unusedPort } from "../support/ports";
import { hex, nul, octets, seq, tlv, uint } from "../support/raw-der";
import { waitFor } from "../support/wait";

/** CertID hash algorithms used here (openssl prints longer hashes across lines). */
type Hash = "sha1" | "sha256";
const HASHES: Hash[] = ["sha1", "sha256"];
const HASH_OIDS: Record<Hash, Buffer> = {
  sha1: hex("06 05 2b 0e 03 02 1a"),
  sha256: hex("06 09 60 86 48 01 65 03 04 02 01"),
};

interface Issuer {
  nameHash: Buffer;
  keyHash: Buffer;
}

/** A CertID (RFC 6960 4.1.1), written byte by byte; `serial` is the INTEGER's content octets. */
const certId = (issuer: Issuer, hash: Hash, serial: Buffer) =>
  seq(
    seq(HASH_OIDS[hash], nul()),
    octets(issuer.nameHash),
    octets(issuer.keyHash),
    tlv(0x02, serial),
  );
/** An OCSPRequest without a nonce (no requestExtensions) asking about `ids`. */
const ocspRequest = (ids: Buffer[]) => seq(seq(seq(...ids.map((id) => seq(id)))));

/** The OCSPResponseStatus of a DER OCSPResponse: SEQUENCE { ENUMERATED, ... }. */
function responseStatus(der: Buffer): number {
  const at = der[1]! & 0x80 ? 2 + (der[1]! & 0x7f) : 2;
  expect(der.subarray(at, at + 2)).toEqual(hex("0a 01"));
  return der[at + 2]!;
}
const SUCCESSFUL = 0;
const MALFORMED_REQUEST = 1;

/** A certmint with a publication server, a root CA, and leaves issued from it. */
async function startServer(env: Record<string, string>, leafNames: string[]) {
  const port = await unusedPort();
  const url = `http://127.0.0.1:${port}/ocsp`;
  const h = await startTestCertmint({
    CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${port}`,
    CERTMINT_OCSP_URL: url,
    ...env,
  });
  const tmp = new TempDir();
  const root = await createRoot(h, "bounds-root");
  const caFile = tmp.file("ca.pem", root.certificatePem);
  await createProfileRows(h, { slug: "web", caId: root.id });
  // The issuer hashes under every CertID hash algorithm, as openssl computes them.
  const issuers = {} as Record<Hash, Issuer>;
  for (const hash of HASHES) {
    const text = opensslOk([
      "ocsp",
      "-issuer",
      caFile,
      `-${hash}`,
      "-serial",
      "0x01",
      "-req_text",
      "-no_nonce",
    ]);
    issuers[hash] = {
      nameHash: Buffer.from(/Issuer Name Hash: ([0-9A-F]+)/.exec(text)![1]!, "hex"),
      keyHash: Buffer.from(/Issuer Key Hash: ([0-9A-F]+)/.exec(text)![1]!, "hex"),
    };
  }
  const leaves: Record<string, { id: string; serial: Buffer; file: string }> = {};
  for (const name of leafNames) {
    const cn = `${name}.example.com`;
    const res = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("web", { cn, dns: [cn] }),
    );
    const c = res.certificate!;
    leaves[name] = {
      id: c.certificateId,
      serial: Buffer.from(c.serialNumber, "hex"),
      file: tmp.file(`${name}.pem`, c.certificatePem),
    };
  }
  const post = async (body: Buffer) => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/ocsp-request" },
      body,
    });
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  };
  /** The single-certificate request for a leaf (or any serial) under `hash`. */
  const requestFor = (serial: Buffer, hash: Hash = "sha1") =>
    ocspRequest([certId(issuers[hash], hash, serial)]);
  /** What openssl reads from a response about one leaf, verified with the CA as trust anchor. */
  const certStatusText = (der: Buffer, leaf: string) =>
    opensslOk([
      "ocsp",
      "-respin",
      tmp.file("resp.der", der),
      "-issuer",
      caFile,
      "-cert",
      leaves[leaf]!.file,
      "-CAfile",
      caFile,
    ]);
  return { h, url, tmp, caFile, issuers, leaves, post, requestFor, certStatusText };
}
type Server = Awaited<ReturnType<typeof startServer>>;

let respondSpy: MockInstance<OcspResponder["respond"]>;
beforeAll(() => {
  respondSpy = vi.spyOn(OcspResponder.prototype, "respond");
});
afterAll(() => {
  respondSpy.mockRestore();
});

/** The responder that answers `server`'s /ocsp (the one its next request reaches). */
async function responderOf(server: Server): Promise<OcspResponder> {
  respondSpy.mockClear();
  // A made-up serial: answered unknown, which is not cached.
  await server.post(server.requestFor(uint(randomBytes(17))));
  const responders = new Set(respondSpy.mock.contexts);
  expect(responders.size).toBe(1);
  return [...responders][0] as OcspResponder;
}

describe("OCSP response cache bounds", () => {
  let s: Server;
  let responder: OcspResponder;

  beforeAll(async () => {
    s = await startServer(
      // Long: only a revocation or the cap may drop a cached response here. Hundreds of
      // responses are signed for this one address in a few seconds: no budget per address.
      { CERTMINT_OCSP_CACHE_SECONDS: "3600", CERTMINT_OCSP_SIGNINGS_PER_ADDRESS_PER_SECOND: "0" },
      ["good", "other", "revoked"],
    );
    responder = await responderOf(s);
  });
  afterAll(async () => {
    await s?.h.stop();
    s?.tmp.remove();
  });

  it("refuses a CertID whose serial is longer than 20 octets with malformedRequest, uncached", async () => {
    const before = responder.cachedResponseCount();
    // 20 octets is the most RFC 5280 allows: answered (unknown, signed).
    const twenty = Buffer.concat([Buffer.from([0x7f]), randomBytes(19)]);
    expect(responseStatus(await s.post(s.requestFor(twenty)))).toBe(SUCCESSFUL);
    // 21 octets, and the ~900 octets that filled the cache before: the whole request is refused.
    for (const length of [21, 900]) {
      const serial = Buffer.concat([Buffer.from([0x7f]), randomBytes(length - 1)]);
      const answer = await s.post(s.requestFor(serial));
      expect(responseStatus(answer)).toBe(MALFORMED_REQUEST);
      // Unsigned: only the status, no responseBytes.
      expect(answer).toEqual(hex("30 03 0a 01 01"));
    }
    // Even next to a real certificate's CertID.
    const mixed = ocspRequest([
      certId(s.issuers.sha1, "sha1", s.leaves.good!.serial),
      certId(s.issuers.sha1, "sha1", Buffer.concat([Buffer.from([0x01]), randomBytes(899)])),
    ]);
    expect(responseStatus(await s.post(mixed))).toBe(MALFORMED_REQUEST);
    expect(responder.cachedResponseCount()).toBe(before);
  });

  it("does not cache answers for serials the CA never issued", async () => {
    const before = responder.cachedResponseCount();
    for (let i = 0; i < 50; i++) {
      // Eight made-up 20-octet serials per request, as an attacker would send them.
      const ids = Array.from({ length: 8 }, () =>
        certId(s.issuers.sha1, "sha1", Buffer.concat([Buffer.from([0x01]), randomBytes(19)])),
      );
      expect(responseStatus(await s.post(ocspRequest(ids)))).toBe(SUCCESSFUL);
    }
    expect(responder.cachedResponseCount()).toBe(before);
    // Still answered unknown, signed by the CA.
    const answer = await s.post(s.requestFor(uint(randomBytes(17))));
    const text = opensslOk([
      "ocsp",
      "-respin",
      s.tmp.file("unknown.der", answer),
      "-CAfile",
      s.caFile,
      "-VAfile",
      s.caFile,
      "-resp_text",
    ]);
    expect(text).toMatch(/Cert Status: unknown/);
    expect(responder.cachedResponseCount()).toBe(before);
  });

  it("caches good and revoked answers, and drops them when the CA revokes", async () => {
    const good = s.requestFor(s.leaves.good!.serial);
    const revoked = s.requestFor(s.leaves.revoked!.serial);
    const before = responder.cachedResponseCount();
    const first = await s.post(good);
    expect(s.certStatusText(first, "good")).toContain(": good");
    expect(responder.cachedResponseCount()).toBe(before + 1);
    // The same signed response again: a cache hit.
    expect((await s.post(good)).equals(first)).toBe(true);
    expect(s.certStatusText(await s.post(revoked), "revoked")).toContain(": good");
    expect(responder.cachedResponseCount()).toBe(before + 2);

    await call(s.h.certificates, "revokeCertificate", {
      certificate: s.leaves.revoked!.id,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    expect(responder.cachedResponseCount()).toBe(0);
    const after = await s.post(revoked);
    const text = s.certStatusText(after, "revoked");
    expect(text).toContain(": revoked");
    // The revoked answer is cached in turn.
    expect(responder.cachedResponseCount()).toBe(1);
    expect((await s.post(revoked)).equals(after)).toBe(true);
    expect(s.certStatusText(await s.post(good), "good")).toContain(": good");
    expect(responder.cachedResponseCount()).toBe(2);
  });

  it("keeps at most its cap of cached responses, dropping the oldest", async () => {
    expect(responder.maxCachedResponses).toBe(OCSP_CACHE_MAX_ENTRIES);
    // Lowered for this test: reaching 4096 takes thousands of signatures.
    const cap = 64;
    responder.maxCachedResponses = cap;
    // Distinct cacheable requests: sequences of seven CertIDs of two good leaves under two hash
    // algorithms (4^7 of them), each answered good and cached.
    const ids = HASHES.flatMap((hash) =>
      ["good", "other"].map((leaf) => certId(s.issuers[hash], hash, s.leaves[leaf]!.serial)),
    );
    const request = (n: number) =>
      ocspRequest(Array.from({ length: 7 }, (_, digit) => ids[Math.floor(n / 4 ** digit) % 4]!));
    const total = cap * 3;
    let next = 0;
    const worker = async () => {
      for (let n = next++; n < total; n = next++) {
        expect(responseStatus(await s.post(request(n)))).toBe(SUCCESSFUL);
        expect(responder.cachedResponseCount()).toBeLessThanOrEqual(cap);
      }
    };
    try {
      await Promise.all(Array.from({ length: 8 }, worker));
      expect(responder.cachedResponseCount()).toBe(cap);
      // The newest is still served from the cache, and a hit adds nothing.
      const last = await s.post(request(total - 1));
      expect((await s.post(request(total - 1))).equals(last)).toBe(true);
      expect(responder.cachedResponseCount()).toBe(cap);
      // The oldest was dropped: asking for it again signs and caches it anew, at the cap still.
      expect(responseStatus(await s.post(request(0)))).toBe(SUCCESSFUL);
      expect(responder.cachedResponseCount()).toBe(cap);
    } finally {
      responder.maxCachedResponses = OCSP_CACHE_MAX_ENTRIES;
    }
  });
});

describe("OCSP response cache expiry", () => {
  let s: Server;
  let responder: OcspResponder;

  beforeAll(async () => {
    s = await startServer({ CERTMINT_OCSP_CACHE_SECONDS: "1" }, ["good"]);
    responder = await responderOf(s);
  });
  afterAll(async () => {
    await s?.h.stop();
    s?.tmp.remove();
  });

  it("drops cached responses past their cache period", async () => {
    const a = s.requestFor(s.leaves.good!.serial, "sha1");
    const b = s.requestFor(s.leaves.good!.serial, "sha256");
    expect(responder.cachedResponseCount()).toBe(0);
    expect(s.certStatusText(await s.post(a), "good")).toContain(": good");
    expect(responder.cachedResponseCount()).toBe(1);
    await s.post(b);
    // Both cached, unless the first has already expired (then it was dropped as b was cached).
    expect(responder.cachedResponseCount()).toBeGreaterThanOrEqual(1);
    // b is re-signed once its period ends; a, older, is past its period by then and dropped.
    // (Without expiry both would stay cached for good.)
    await waitFor("the expired response to be dropped", async () => {
      await s.post(b);
      return responder.cachedResponseCount() === 1;
    });
    // a is answered again, signed afresh.
    expect(s.certStatusText(await s.post(a), "good")).toContain(": good");
  });
});
