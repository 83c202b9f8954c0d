import { createHash, X509Certificate } from "node:crypto";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { attrRequest } from "../certificates/helpers";
import { createProfileRows, createRoot } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { opensslOk, TempDir } from "../support/openssl";
import { unusedPort } from "../support/ports";
import { opensslRoot, opensslSign, subject } from "./helpers";

/**
 * The CRL distribution point and caIssuers URLs that certificates carry are served: a relying
 * party that knows only the leaf finds its issuer and its CRL over HTTP, and openssl checks
 * the leaf against that CRL.
 */
describe("publication of CRLs and CA certificates over HTTP", () => {
  let h: TestCertmint;
  let base = "";
  const tmp = new TempDir();
  let leafPem = "";
  let leafSerial = "";
  let caId = "";

  beforeAll(async () => {
    const port = await unusedPort();
    base = `http://127.0.0.1:${port}`;
    h = await startTestCertmint({
      CERTMINT_PUBLIC_BASE_URL: base,
      CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${port}`,
      // Long: only a revocation may make the next fetch see a new CRL.
      CERTMINT_CRL_CACHE_SECONDS: "3600",
    });
    const root = await createRoot(h, "pub-root");
    caId = root.id;
    await createProfileRows(h, { slug: "web", caId });
    const issued = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("web", { cn: "pub.example.com", dns: ["pub.example.com"] }),
    );
    leafPem = issued.certificate!.certificatePem;
    leafSerial = issued.certificate!.serialNumber;
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  /** The URL of an extension in `openssl x509 -text` output. */
  const urlIn = (text: string, marker: string) => {
    const line = text.split("\n").find((l) => l.includes(marker));
    return /URI:(\S+)/.exec(line ?? "")?.[1] ?? "";
  };

  it("the leaf names both URLs under the public base URL, and both answer with DER", async () => {
    const text = opensslOk(["x509", "-noout", "-text"], leafPem);
    const crlUrl = urlIn(text.slice(text.indexOf("CRL Distribution Points")), "URI:");
    const issuerUrl = urlIn(text, "CA Issuers");
    expect(crlUrl).toBe(`${base}/crl/${caId}.crl`);
    expect(issuerUrl).toBe(`${base}/ca/${caId}.crt`);

    const ca = await fetch(issuerUrl);
    expect(ca.status).toBe(200);
    expect(ca.headers.get("content-type")).toBe("application/pkix-cert");
    const caCert = new X509Certificate(Buffer.from(await ca.arrayBuffer()));
    expect(new X509Certificate(leafPem).verify(caCert.publicKey)).toBe(true);

    const crl = await fetch(crlUrl);
    expect(crl.status).toBe(200);
    expect(crl.headers.get("content-type")).toBe("application/pkix-crl");
    // One CRL cache period, not to its nextUpdate a day ahead (until stop 41 of 2026-12-06):
    // a revocation is published at once, and a cache must not hide it for a day.
    expect(crl.headers.get("cache-control")).toBe("public, max-age=3600");
    const crlFile = tmp.file("ca.crl", Buffer.from(await crl.arrayBuffer()));
    const caFile = tmp.file("ca.pem", caCert.toString());
    // The CRL is the CA's, signed by it, and does not list the leaf yet.
    expect(
      opensslOk(["crl", "-inform", "DER", "-in", crlFile, "-noout", "-CAfile", caFile], ""),
    ).toBe("");
    const leafFile = tmp.file("leaf.pem", leafPem);
    opensslOk(["verify", "-crl_check", "-CAfile", caFile, "-CRLfile", pemCrl(crlFile), leafFile]);
  });

  it("serves one signed CRL per cache period, and a fresh one after a revocation", async () => {
    const url = `${base}/crl/${caId}.crl`;
    const first = Buffer.from(await (await fetch(url)).arrayBuffer());
    const again = Buffer.from(await (await fetch(url)).arrayBuffer());
    expect(again.equals(first)).toBe(true);

    await call(h.certificates, "revokeCertificate", {
      certificate: leafSerial,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    const after = Buffer.from(await (await fetch(url)).arrayBuffer());
    expect(after.equals(first)).toBe(false);
    const text = opensslOk([
      "crl",
      "-inform",
      "DER",
      "-in",
      tmp.file("after.crl", after),
      "-noout",
      "-text",
    ]);
    expect(text.replace(/:/g, "").toLowerCase()).toContain(
      leafSerial.replace(/:/g, "").toLowerCase(),
    );
    expect(text).toContain("Key Compromise");

    const caFile = tmp.file(
      "ca2.pem",
      (await call(h.authorities, "getCertificateAuthority", { certificateAuthority: caId }))
        .certificateAuthority!.certificatePem,
    );
    const verify = opensslOutput([
      "verify",
      "-crl_check",
      "-CAfile",
      caFile,
      "-CRLfile",
      pemCrl(tmp.file("after2.crl", after)),
      tmp.file("leaf2.pem", leafPem),
    ]);
    expect(verify).toContain("certificate revoked");
  });

  it("revalidates: ETag and Last-Modified, 304 for what the fetcher holds, 200 with the new CRL after a revocation", async () => {
    // A CA of its own, whose first CRL this is: a CRL signed in the same second as the CA's
    // previous one shares its Last-Modified and validates no If-Modified-Since (RFC 9110
    // 8.8.2.2; conditional-get.ts), which the tests above would make depend on the clock.
    const own = await createRoot(h, "reval-root");
    await createProfileRows(h, { slug: "reval", caId: own.id });
    const url = `${base}/crl/${own.id}.crl`;
    const first = await fetch(url);
    const etag = first.headers.get("etag")!;
    const lastModified = first.headers.get("last-modified")!;
    const der = Buffer.from(await first.arrayBuffer());
    const crlNumber = /X509v3 CRL Number:\s*\n\s*(\d+)/.exec(
      opensslOk(["crl", "-inform", "DER", "-in", tmp.file("held.crl", der), "-noout", "-text"]),
    )![1];
    expect(etag).toBe(`"crl-${crlNumber}"`);
    expect(new Date(lastModified).getTime()).toBeLessThanOrEqual(Date.now());

    for (const headers of <Record<string, string>[]>[
      { "if-none-match": etag },
      { "if-none-match": `W/${etag}, "crl-0"` },
      { "if-modified-since": lastModified },
    ]) {
      for (const method of ["GET", "HEAD"]) {
        const res = await fetch(url, { method, headers });
        expect(res.status, JSON.stringify(headers)).toBe(304);
        expect(res.headers.get("etag")).toBe(etag);
        expect(res.headers.get("cache-control")).toMatch(/^public, max-age=\d+$/);
        expect((await res.arrayBuffer()).byteLength).toBe(0);
      }
    }
    const other = await fetch(url, { headers: { "if-none-match": '"crl-0"' } });
    expect(other.status).toBe(200);
    expect(Buffer.from(await other.arrayBuffer()).equals(der)).toBe(true);

    // The CA's certificate: a tag of its bytes.
    const caUrl = `${base}/ca/${own.id}.crt`;
    const ca = await fetch(caUrl);
    const caDer = Buffer.from(await ca.arrayBuffer());
    const caTag = `"${createHash("sha256").update(caDer).digest("base64url")}"`;
    expect(ca.headers.get("etag")).toBe(caTag);
    expect((await fetch(caUrl, { headers: { "if-none-match": caTag } })).status).toBe(304);

    // A revocation makes a new CRL: the tag the fetcher holds no longer matches.
    const cn = "revalidated.example.com";
    const leaf = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("reval", { cn, dns: [cn] }),
    );
    await call(h.certificates, "revokeCertificate", {
      certificate: leaf.certificate!.serialNumber,
      reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
    });
    const changed = await fetch(url, { headers: { "if-none-match": etag } });
    expect(changed.status).toBe(200);
    const newTag = changed.headers.get("etag")!;
    expect(newTag).not.toBe(etag);
    const newDer = Buffer.from(await changed.arrayBuffer());
    expect(
      opensslOk(["crl", "-inform", "DER", "-in", tmp.file("new.crl", newDer), "-noout", "-text"])
        .replace(/:/g, "")
        .toLowerCase(),
    ).toContain(leaf.certificate!.serialNumber.toLowerCase());
    expect((await fetch(url, { headers: { "if-none-match": newTag } })).status).toBe(304);
  });

  it("answers 404 for unknown CAs and paths, 405 for other methods, and needs no credential", async () => {
    expect((await fetch(`${base}/crl/00000000-0000-0000-0000-000000000000.crl`)).status).toBe(404);
    expect((await fetch(`${base}/ca/${caId}.crl`)).status).toBe(404);
    expect((await fetch(`${base}/crl/root.crl`)).status).toBe(404);
    expect((await fetch(`${base}/`)).status).toBe(404);
    const post = await fetch(`${base}/crl/${caId}.crl`, { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  // Found by an outside probe (2026-12-05, third stop): a request target in absolute form was 404.
  it("accepts a request target in absolute form (RFC 9112 3.2.2), as a proxy sends it", async () => {
    const port = Number(new URL(base).port);
    const raw = (target: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(port, "127.0.0.1", () =>
          socket.write(`GET ${target} HTTP/1.1\r\nHost: pki.example\r\nConnection: close\r\n\r\n`),
        );
        const chunks: Buffer[] = [];
        socket.on("data", (c: Buffer) => chunks.push(c));
        socket.on("error", reject);
        socket.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
      });
    const crl = await raw(`http://pki.example/crl/${caId}.crl`);
    expect(crl).toMatch(/^HTTP\/1\.1 200 /);
    expect(crl).toMatch(/content-type: application\/pkix-crl/i);
    const ca = await raw(`HTTP://pki.example:80/ca/${caId}.crt?x=1`);
    expect(ca).toMatch(/^HTTP\/1\.1 200 /);
    expect(await raw("http://pki.example")).toMatch(/^HTTP\/1\.1 404 /);
    expect(await raw(`http://pki.example/crl/${caId}.crt`)).toMatch(/^HTTP\/1\.1 404 /);
  });

  /** openssl verify -CRLfile reads PEM. */
  function pemCrl(derFile: string): string {
    return tmp.file(
      "crl.pem",
      opensslOk(["crl", "-inform", "DER", "-in", derFile, "-outform", "PEM"]),
    );
  }

  function opensslOutput(args: string[]): string {
    try {
      return opensslOk(args);
    } catch (err) {
      return String((err as Error).message);
    }
  }

  // Regression test for a bug once in src/server/publication.ts.
  it("a CA whose certificate lacks cRLSign (adopted before imports refused it) answers 404, not 500", async () => {
    const ext = await call(h.authorities, "createExternalIntermediateCertificateAuthority", {
      slug: "pub-no-crl-sign",
      description: "",
      subject: subject("Legacy No cRLSign", ["certmint tests"]),
      keyAlgorithm: 0,
      signatureAlgorithm: 0,
    });
    const outside = opensslRoot(tmp, { cn: "Legacy Outside Root" });
    const pem = opensslSign(tmp, ext.csrPem, outside, [
      "basicConstraints=critical,CA:TRUE",
      "keyUsage=critical,keyCertSign",
    ]);
    // What an import stored before it checked cRLSign (src/issuance/ca/import-certificate.ts).
    const cert = new X509Certificate(pem);
    await h.db.query(
      `update certificate_authority set status = 'ACTIVE', certificate_pem = $2, chain_pem = $3,
         serial_number = $4, not_before = $5, not_after = $6, csr_pem = null, version = version + 1
       where id = $1`,
      [
        ext.certificateAuthority!.id,
        pem,
        JSON.stringify([outside.pem]),
        cert.serialNumber.toLowerCase(),
        new Date(cert.validFrom),
        new Date(cert.validTo),
      ],
    );
    const res = await fetch(`${base}/crl/${ext.certificateAuthority!.id}.crl`);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("cRLSign");
    // The server stays healthy: the other CA's CRL is still served.
    expect((await fetch(`${base}/crl/${caId}.crl`)).status).toBe(200);
  });
});
