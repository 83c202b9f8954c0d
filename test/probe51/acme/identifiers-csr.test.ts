/**
 * Probe 51 (ACME): identifiers a newOrder may name (RFC 8555 7.4, RFC 8738 IP identifiers,
 * wildcards, A-labels) and the CSR a finalize may carry (RFC 8555 7.4, 11.1), against the
 * compiled server. The profile "open-acme" allows any DNS name and IPv4 under 127.0.0.0/8 and
 * 10.0.0.0/8, so what is refused here is refused by the ACME layer, not the policy.
 */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AcmeTestClient, b64u } from "../../acme/jws-client";
import { START_LIMIT_MS } from "../../support/server-process";
import { waitFor } from "../../support/wait";
import {
  csrDer,
  ERR,
  expectProblem,
  issued,
  type LiveAcme,
  order,
  readyOrder,
  startLiveAcme,
} from "./live-acme";

describe("probe 51: ACME identifiers and CSRs", () => {
  let live: LiveAcme;
  let c: AcmeTestClient;
  beforeAll(async () => {
    live = await startLiveAcme();
    c = live.client("open-acme");
    expect((await c.register()).status).toBe(201);
  }, 2 * START_LIMIT_MS);
  afterAll(async () => {
    if (process.env.PROBE51_DUMP) console.log(live?.server.output().slice(-6000));
    await live?.stop();
  });

  const orders = async () =>
    Number((await live.db.query<{ n: string }>("select count(*) as n from acme_order"))[0]!.n);
  const newOrder = (identifiers: Array<{ type: string; value: string }>) =>
    c.post(c.dir.newOrder!, { identifiers });
  const orderRow = async (url: string) =>
    (
      await live.db.query<{ status: string; certificate_id: string | null }>(
        "select status, certificate_id from acme_order where id = $1",
        [url.split("/").at(-1)],
      )
    )[0]!;

  /** The leaf certificate of a valid order, waited for and downloaded. */
  const leafOf = async (orderUrl: string) => {
    let certUrl = "";
    await waitFor("the order to be valid", async () => {
      const s = await c.post(orderUrl, "");
      certUrl = (s.json.certificate as string) ?? "";
      return s.json.status === "valid";
    });
    const pem = (await c.post(certUrl, "")).text;
    return new X509Certificate(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)![0],
    );
  };

  it("an IP identifier (RFC 8738) is offered http-01 and tls-alpn-01 only, validated, and certified as an IP SAN", async () => {
    const o = await readyOrder(live, c, [{ type: "ip", value: "127.0.0.1" }]);
    const authz = await c.post(o.authzUrls[0]!, "");
    expect(authz.json.identifier).toEqual({ type: "ip", value: "127.0.0.1" });
    expect((authz.json.challenges as Array<{ type: string }>).map((x) => x.type).sort()).toEqual([
      "http-01",
      "tls-alpn-01",
    ]);
    const { leaf } = await issued(c, o, csrDer("/CN=127.0.0.1", ["IP:127.0.0.1"]).der);
    expect(leaf.subjectAltName).toBe("IP Address:127.0.0.1");
  });

  it("IP identifiers that are no plain address are malformed (400), never a 500, and store no order", async () => {
    const before = await orders();
    for (const value of [
      "fe80::1%eth0",
      "127.0.0.1%lo",
      "127.000.000.001",
      "0x7f.0.0.1",
      "127.1",
      "127.0.0.1/32",
      " 127.0.0.1",
      "[::1]",
    ]) {
      const r = await newOrder([{ type: "ip", value }]);
      expect(r.status, `${value}: ${r.text}`).toBe(400);
      expect(r.headers["content-type"], value).toBe("application/problem+json");
      expect([`${ERR}malformed`, `${ERR}rejectedIdentifier`], value).toContain(r.json.type);
    }
    expect(await orders()).toBe(before);
  });

  it("an IP address in a dns identifier is refused (RFC 8738 3: an IP address is an ip identifier)", async () => {
    const before = await orders();
    for (const value of ["127.0.0.1", "10.0.0.1", "10.0.0.1."]) {
      const r = await newOrder([{ type: "dns", value }]);
      expect(r.status, `${value}: ${r.text}`).toBe(400);
      expect([`${ERR}malformed`, `${ERR}rejectedIdentifier`], value).toContain(r.json.type);
    }
    expect(await orders()).toBe(before);
  });

  it("wildcards: only a leftmost *. label; the authorization names the base domain with wildcard: true and dns-01 only", async () => {
    const before = await orders();
    for (const value of [
      "a.*.example.net",
      "*.*.example.net",
      "*",
      "*example.net",
      "**.example.net",
      "*.",
      "x*.example.net",
    ]) {
      const r = await newOrder([{ type: "dns", value }]);
      expect(r.status, `${value}: ${r.text}`).toBe(400);
    }
    expect(await orders()).toBe(before);
    const o = await order(c, [{ type: "dns", value: "*.wild.example.net" }]);
    const authz = await c.post(o.authzUrls[0]!, "");
    expect(authz.json.identifier).toEqual({ type: "dns", value: "wild.example.net" });
    expect(authz.json.wildcard).toBe(true);
    expect((authz.json.challenges as Array<{ type: string }>).map((x) => x.type)).toEqual([
      "dns-01",
    ]);
  });

  it("a DNS identifier with a malformed A-label (xn-- that is no punycode) or an underscore is refused", async () => {
    const before = await orders();
    for (const value of [
      "xn--.example.net",
      "xn--zz-.example.net",
      "under_score.example.net",
      "-lead.example.net",
      "trail-.example.net",
    ]) {
      const r = await newOrder([{ type: "dns", value }]);
      expect(r.status, `${value}: ${r.text}`).toBe(400);
      expect([`${ERR}malformed`, `${ERR}rejectedIdentifier`], value).toContain(r.json.type);
    }
    expect(await orders()).toBe(before);
  });

  it("a CSR naming the order's name with upper case and a trailing dot is certified in its canonical form only", async () => {
    const o = await readyOrder(live, c, [{ type: "dns", value: "canon.probe.localhost" }]);
    const csr = csrDer("/CN=Canon.Probe.LOCALHOST", ["DNS:Canon.Probe.LOCALHOST."]).der;
    const r = await c.post(o.finalize, { csr: b64u(csr) });
    if (r.status !== 200) {
      // Refusing the spelling is as good (badCSR), as long as the order is ready again.
      expectProblem(r, "badCSR", 400);
      expect((await orderRow(o.url)).status).toBe("ready");
      return;
    }
    const leaf = await leafOf(o.url);
    // RFC 5280 4.2.1.6: a dNSName in the preferred name syntax (no trailing dot); the name
    // validated was canon.probe.localhost.
    expect(leaf.subjectAltName).toBe("DNS:canon.probe.localhost");
  });

  it("a CSR for an ip order naming the address as IPv4-mapped IPv6 is refused or certified as the address validated", async () => {
    const o = await readyOrder(live, c, [{ type: "ip", value: "127.0.0.1" }]);
    const r = await c.post(o.finalize, {
      csr: b64u(csrDer("/CN=mapped", ["IP:::ffff:127.0.0.1"]).der),
    });
    if (r.status !== 200) {
      expectProblem(r, "badCSR", 400);
      return;
    }
    // The certificate must carry the 4-byte address that was validated, not a 16-byte one.
    expect((await leafOf(o.url)).subjectAltName).toBe("IP Address:127.0.0.1");
  });

  it("a CSR asking for CA:TRUE and keyCertSign never yields a CA certificate", async () => {
    const o = await readyOrder(live, c, [{ type: "dns", value: "ca-ask.probe.localhost" }]);
    const csr = csrDer("/CN=ca-ask.probe.localhost", ["DNS:ca-ask.probe.localhost"], {
      addext: ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"],
    }).der;
    const r = await c.post(o.finalize, { csr: b64u(csr) });
    if (r.status !== 200) {
      expect(r.status, r.text).toBe(400);
      expect((await orderRow(o.url)).status).not.toBe("valid");
      return;
    }
    const leaf = await leafOf(o.url);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(leaf)).toBe(false);
    const keyUsage = execFileSync("openssl", ["x509", "-noout", "-ext", "keyUsage"], {
      input: leaf.toString(),
      encoding: "utf8",
    });
    expect(keyUsage).not.toMatch(/Certificate Sign|CRL Sign/);
  });

  it("a CSR whose signature does not verify, a weak RSA key, or a name beyond the order is badCSR, and the order stays ready", async () => {
    const o = await readyOrder(live, c, [{ type: "dns", value: "csr-faults.probe.localhost" }]);
    const good = csrDer("/CN=csr-faults.probe.localhost", ["DNS:csr-faults.probe.localhost"]).der;
    const tampered = Buffer.from(good);
    tampered[tampered.length - 3]! ^= 0x01;
    const faults: Array<[string, Buffer]> = [
      ["a signature that does not verify", tampered],
      [
        "an RSA key of 1024 bits",
        csrDer("/CN=csr-faults.probe.localhost", ["DNS:csr-faults.probe.localhost"], {
          newKey: ["-newkey", "rsa:1024"],
        }).der,
      ],
      [
        "a name beyond the order",
        csrDer("/CN=csr-faults.probe.localhost", [
          "DNS:csr-faults.probe.localhost",
          "DNS:extra.probe.localhost",
        ]).der,
      ],
      [
        "a common name beyond the order",
        csrDer("/CN=other.probe.localhost", ["DNS:csr-faults.probe.localhost"]).der,
      ],
    ];
    for (const [what, der] of faults) {
      const r = await c.post(o.finalize, { csr: b64u(der) });
      expect(r.status, `${what}: ${r.text}`).toBe(400);
      expect([`${ERR}badCSR`, `${ERR}badPublicKey`], what).toContain(r.json.type);
      const row = await orderRow(o.url);
      expect([row.status, row.certificate_id], what).toEqual(["ready", null]);
    }
    // Then the good CSR still issues.
    expect((await c.post(o.finalize, { csr: b64u(good) })).status).toBe(200);
    expect((await leafOf(o.url)).subjectAltName).toBe("DNS:csr-faults.probe.localhost");
  });

  it("a CSR with SANs of other kinds (otherName, registeredID, URI) beside the order's name is refused or certified without them", async () => {
    const name = "kinds.probe.localhost";
    const o = await readyOrder(live, c, [{ type: "dns", value: name }]);
    const csr = csrDer(`/CN=${name}`, [
      `DNS:${name}`,
      "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:administrator@corp.example",
      "RID:1.2.3.4",
      "URI:spiffe://corp.example/admin",
    ]);
    const r = await c.post(o.finalize, { csr: b64u(csr.der) });
    if (r.status !== 200) {
      expectProblem(r, "badCSR", 400);
      expect((await orderRow(o.url)).status).toBe("ready");
      return;
    }
    expect((await leafOf(o.url)).subjectAltName).toBe(`DNS:${name}`);
  });

  it("a CSR whose subject carries attributes no challenge proves (O, OU) is refused or certified without them", async () => {
    const web = live.client("web-acme");
    expect((await web.register()).status).toBe(201);
    const name = "subject.acme.localhost";
    const o = await readyOrder(live, web, [{ type: "dns", value: name }]);
    const csr = csrDer(`/CN=${name}/O=Certmint Root Authority/OU=Security`, [`DNS:${name}`]).der;
    const r = await web.post(o.finalize, { csr: b64u(csr) });
    if (r.status !== 200) {
      expectProblem(r, "badCSR", 400);
      expect((await orderRow(o.url)).status).toBe("ready");
      return;
    }
    let certUrl = "";
    await waitFor("the order to be valid", async () => {
      const s = await web.post(o.url, "");
      certUrl = (s.json.certificate as string) ?? "";
      return s.json.status === "valid";
    });
    const pem = (await web.post(certUrl, "")).text;
    const leaf = new X509Certificate(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)![0],
    );
    expect(leaf.subject).toBe(`CN=${name}`);
  });

  it("a csr that is empty, not DER, or signed with SHA-1 is refused as a client error, and the order stays ready", async () => {
    const name = "csr-bytes.probe.localhost";
    const o = await readyOrder(live, c, [{ type: "dns", value: name }]);
    const good = csrDer(`/CN=${name}`, [`DNS:${name}`]).der;
    const sha1 = csrDer(`/CN=${name}`, [`DNS:${name}`], {
      newKey: ["-newkey", "rsa:2048", "-sha1"],
    }).der;
    for (const [what, csr] of [
      ["empty", ""],
      ["one zero byte", "AA"],
      ["not base64url", "!!!"],
      ["a number", 12],
      ["random bytes", b64u(Buffer.alloc(900, 7))],
      ["the DER cut short", b64u(good.subarray(0, good.length - 10))],
      ["a SHA-1 signature", b64u(sha1)],
    ] as const) {
      const r = await c.post(o.finalize, { csr });
      expect(r.status, `${what}: ${r.text}`).toBe(400);
      expect([`${ERR}badCSR`, `${ERR}malformed`], what).toContain(r.json.type);
      const row = await orderRow(o.url);
      expect([row.status, row.certificate_id], what).toEqual(["ready", null]);
    }
  });
});
