import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config";

/** The ACME settings (README "Configuration"), checked at start-up like every other. */
describe("ACME configuration", () => {
  it("is off without CERTMINT_ACME_LISTEN, and has safe defaults with it", () => {
    expect(loadConfig({}).acme).toBeUndefined();
    const acme = loadConfig({ CERTMINT_ACME_LISTEN: "127.0.0.1:8443" }).acme!;
    expect(acme).toMatchObject({
      listen: { host: "127.0.0.1", port: 8443 },
      http01Port: 80,
      tlsAlpn01Port: 443,
      validationTimeoutMs: 10_000,
      maxValidations: 100,
      rateLimit: { perSecond: 10, burst: 100 },
      dnsResolvers: [],
    });
    expect(acme.tls).toBeUndefined();
    expect(acme.validationNetworks).toBeUndefined();
  });

  it("serves HTTPS with its own files, else with the gRPC port's (without client certificates)", () => {
    const grpc = {
      CERTMINT_TLS_CERT_FILE: "/tls/grpc.pem",
      CERTMINT_TLS_KEY_FILE: "/tls/grpc.key",
      CERTMINT_TLS_CLIENT_CA_FILE: "/tls/clients.pem",
      CERTMINT_TLS_REQUIRE_CLIENT_CERT: "true",
    };
    const shared = loadConfig({ ...grpc, CERTMINT_ACME_LISTEN: "0.0.0.0:443" }).acme!;
    expect(shared.tls).toMatchObject({
      certFile: "/tls/grpc.pem",
      keyFile: "/tls/grpc.key",
      requireClientCert: false,
    });
    expect(shared.tls?.clientCaFile).toBeUndefined();
    const own = loadConfig({
      ...grpc,
      CERTMINT_ACME_LISTEN: "0.0.0.0:443",
      CERTMINT_ACME_TLS_CERT_FILE: "/tls/acme.pem",
      CERTMINT_ACME_TLS_KEY_FILE: "/tls/acme.key",
    }).acme!;
    expect(own.tls).toMatchObject({ certFile: "/tls/acme.pem", keyFile: "/tls/acme.key" });
  });

  it.each([
    [
      { CERTMINT_ACME_LISTEN: "0.0.0.0:80" },
      "CERTMINT_ACME_LISTEN=0.0.0.0:80: ACME without TLS is refused on a non-loopback address",
    ],
    [
      { CERTMINT_ACME_LISTEN: "127.0.0.1:80", CERTMINT_ACME_VALIDATION_NETWORKS: "10.0.0.0/33" },
      'CERTMINT_ACME_VALIDATION_NETWORKS must be comma-separated addresses or CIDRs, e.g. 10.0.0.0/8,fd00::/8 (got "10.0.0.0/33")',
    ],
    [
      { CERTMINT_ACME_LISTEN: "127.0.0.1:80", CERTMINT_ACME_TLS_CERT_FILE: "/tls/acme.pem" },
      "set both CERTMINT_ACME_TLS_CERT_FILE and CERTMINT_ACME_TLS_KEY_FILE, or neither",
    ],
    [
      { CERTMINT_ACME_LISTEN: "127.0.0.1:80", CERTMINT_ACME_HTTP01_PORT: "0" },
      'CERTMINT_ACME_HTTP01_PORT must be an integer from 1 to 65535 (got "0")',
    ],
    [
      { CERTMINT_ACME_LISTEN: "127.0.0.1:80", CERTMINT_ACME_BASE_URL: "acme.example.com" },
      'CERTMINT_ACME_BASE_URL must be an http(s) URL, e.g. http://pki.example.internal (got "acme.example.com")',
    ],
    [
      {
        CERTMINT_ACME_LISTEN: "127.0.0.1:80",
        CERTMINT_ACME_BASE_URL: "https://acme.example.com/x",
      },
      'CERTMINT_ACME_BASE_URL must be an origin without a path, e.g. https://acme.example.com or https://acme.example.com:8443 (got "https://acme.example.com/x")',
    ],
    [
      {
        CERTMINT_ACME_LISTEN: "127.0.0.1:80",
        CERTMINT_ACME_BASE_URL: "https://u:p@acme.example.com",
      },
      "CERTMINT_ACME_BASE_URL must be an origin without a path",
    ],
  ])("refuses %o", (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it("builds ACME URLs from CERTMINT_ACME_BASE_URL when set: its origin, trailing slash dropped", () => {
    const at = (value: string) =>
      loadConfig({ CERTMINT_ACME_LISTEN: "127.0.0.1:8443", CERTMINT_ACME_BASE_URL: value }).acme!
        .baseUrl;
    expect(at("https://ACME.example.com/")).toBe("https://acme.example.com");
    expect(at("https://acme.example.com:443")).toBe("https://acme.example.com");
    expect(at("https://acme.example.com:8443")).toBe("https://acme.example.com:8443");
    expect(loadConfig({ CERTMINT_ACME_LISTEN: "127.0.0.1:8443" }).acme!.baseUrl).toBeUndefined();
  });

  it("accepts plaintext ACME on a public address only when told to", () => {
    const acme = loadConfig({
      CERTMINT_ACME_LISTEN: "0.0.0.0:80",
      CERTMINT_ALLOW_PLAINTEXT: "true",
      CERTMINT_LISTEN: "127.0.0.1:50051",
    }).acme!;
    expect(acme.listen.host).toBe("0.0.0.0");
  });
});
