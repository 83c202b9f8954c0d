/**
 * ListCertificates pages are bounded in bytes as well as in count. Found by an outside probe
 * (2026-12-05): 100 certificates of 100 long DNS SANs each made a 4.8 MB page, which every
 * stock gRPC client refuses (grpc-js's default 4 MiB receive limit, the one these clients keep),
 * certmint's own CLI included. A page now ends before it would pass 3 MiB, with a token that
 * continues after its last certificate, so the walk still sees every certificate exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateView,
  ListCertificatesRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  issue,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

/** 100 DNS names of ~200 characters, distinct per certificate. */
const longNames = (i: number) =>
  Array.from(
    { length: 100 },
    (_, j) => `${"a".repeat(60)}.${"b".repeat(60)}.${"c".repeat(50)}.n${i}-${j}.bytes.example.com`,
  );

describe("ListCertificates pages within what a gRPC client accepts", () => {
  let h: TestCertmint;
  const issued: string[] = [];

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "bytes-root");
    await createProfileRows(h, { caId: root.id, slug: "bytes" });
    for (let i = 0; i < 80; i++) {
      const res = await issue(h, attrRequest("bytes", { dns: longNames(i) }));
      issued.push(res.certificate!.certificateId);
    }
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("a page of big certificates stops under 4 MiB and its token continues; every certificate comes once", async () => {
    const seen: string[] = [];
    const sizes: number[] = [];
    let pageToken = "";
    for (let pages = 0; pages < 80; pages++) {
      const req = ListCertificatesRequest.fromPartial({
        certificateProfile: "bytes",
        pageSize: 100,
        pageToken,
        view: CertificateView.CERTIFICATE_VIEW_FULL,
      });
      // The default client: it refuses an answer over 4 MiB (RESOURCE_EXHAUSTED).
      const page = await call(h.certificates, "listCertificates", req);
      expect(page.certificates.length).toBeGreaterThan(0);
      const bytes = Buffer.byteLength(
        JSON.stringify(
          page.certificates.map((c) => [
            c.certificatePem,
            c.certificateChainPem,
            c.subjectAlternativeNames,
          ]),
        ),
      );
      sizes.push(bytes);
      expect(bytes).toBeLessThan(4 * 1024 * 1024);
      for (const c of page.certificates) {
        expect(c.subjectAlternativeNames!.dnsNames).toHaveLength(100);
        seen.push(c.id);
      }
      pageToken = page.nextPageToken;
      if (pageToken === "") break;
    }
    // The first page was cut by its size (80 asked for, fewer given), and the walk saw every
    // certificate exactly once.
    expect(sizes.length).toBeGreaterThan(1);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual([...issued].sort());
  });
});
