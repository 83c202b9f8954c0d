/**
 * Probe 51 (ACME): IP identifiers (RFC 8738) validated over http-01 and tls-alpn-01 (RFC 8737,
 * RFC 8738 6: the SNI is the address's reverse-DNS name) for an IPv4 and an IPv6 address,
 * against the compiled server allowed to validate at 127.0.0.0/8 and ::1. test/acme covers
 * tls-alpn-01 for DNS names only, and no IPv6 identifier anywhere.
 */
import { execFileSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createSecureContext,
  createServer as createTlsServer,
  type Server as TlsServer,
} from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AcmeTestClient, b64u, publicJwk, thumbprint } from "../../acme/jws-client";
import { START_LIMIT_MS } from "../../support/server-process";
import { waitFor } from "../../support/wait";
import {
  challengeOf,
  csrDer,
  type LiveAcme,
  order,
  readyOrder,
  settledAuthorization,
  startLiveAcme,
} from "./live-acme";

/** A self-signed tls-alpn-01 certificate (RFC 8737 3) naming `san`, for `keyAuth`. */
function alpnCertificate(san: string, keyAuth: string): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), "certmint-probe51-alpn-"));
  try {
    const digest = createHash("sha256").update(keyAuth).digest("hex");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
        "-days",
        "1",
        "-subj",
        "/CN=acme-tls-alpn",
        "-addext",
        `subjectAltName=${san}`,
        "-addext",
        `1.3.6.1.5.5.7.1.31=critical,DER:0420${digest}`,
      ],
      { stdio: "ignore" },
    );
    return {
      cert: readFileSync(join(dir, "cert.pem"), "utf8"),
      key: readFileSync(join(dir, "key.pem"), "utf8"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("probe 51: ACME IP identifiers over http-01 and tls-alpn-01", () => {
  let live: LiveAcme;
  let c: AcmeTestClient;
  const servers: TlsServer[] = [];
  let alpn: { cert: string; key: string } | undefined;
  const sniSeen: string[] = [];

  beforeAll(async () => {
    live = await startLiveAcme(
      { CERTMINT_ACME_VALIDATION_NETWORKS: "127.0.0.0/8,::1/128" },
      { ipv6: true },
    );
    c = live.client("open-acme");
    expect((await c.register()).status).toBe(201);
    for (const host of ["127.0.0.1", "::1"]) {
      const s = createTlsServer({
        ALPNProtocols: ["acme-tls/1"],
        SNICallback: (name, cb) => {
          sniSeen.push(name);
          if (!alpn) return cb(new Error("no certificate yet"));
          cb(null, createSecureContext(alpn));
        },
      });
      s.on("secureConnection", (socket) => socket.end());
      s.on("tlsClientError", () => undefined);
      await new Promise<void>((r) => s.listen(live.tlsPort, host, r));
      servers.push(s);
    }
  }, 2 * START_LIMIT_MS);
  afterAll(async () => {
    if (process.env.PROBE51_DUMP) console.log(live?.server.output().slice(-6000));
    for (const s of servers) await new Promise((r) => s.close(r));
    await live?.stop();
  });

  const leafSan = async (orderUrl: string) => {
    let certUrl = "";
    await waitFor("the order to be valid", async () => {
      const s = await c.post(orderUrl, "");
      certUrl = (s.json.certificate as string) ?? "";
      return s.json.status === "valid";
    });
    const pem = (await c.post(certUrl, "")).text;
    return new X509Certificate(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)![0],
    ).subjectAltName;
  };

  it("an IPv6 identifier validates over http-01 and is certified as that address", async () => {
    const o = await readyOrder(live, c, [{ type: "ip", value: "::1" }]);
    const csr = csrDer("/CN=::1", ["IP:::1"]).der;
    const r = await c.post(o.finalize, { csr: b64u(csr) });
    expect(r.status, r.text).toBe(200);
    expect(await leafSan(o.url)).toBe("IP Address:0:0:0:0:0:0:0:1");
  });

  for (const [address, reverse, san] of [
    ["127.0.0.1", "1.0.0.127.in-addr.arpa", "IP:127.0.0.1"],
    ["::1", `${"1".concat(".0".repeat(31))}.ip6.arpa`, "IP:::1"],
  ] as const) {
    it(`tls-alpn-01 validates ${address} with the reverse-DNS name as SNI (RFC 8738 6)`, async () => {
      const o = await order(c, [{ type: "ip", value: address }]);
      const ch = await challengeOf(c, o.authzUrls[0]!, "tls-alpn-01");
      alpn = alpnCertificate(san, `${ch.token}.${thumbprint(publicJwk(c.key.publicKey))}`);
      sniSeen.length = 0;
      expect((await c.post(ch.url, {})).status).toBe(200);
      const authz = await settledAuthorization(c, o.authzUrls[0]!);
      const error = (authz.json.challenges as Array<{ error?: { detail: string } }>).find(
        (x) => x.error,
      )?.error;
      expect(authz.json.status, error?.detail).toBe("valid");
      expect(sniSeen).toContain(reverse);
    });
  }
});
