/**
 * CERTMINT_TLS_CLIENT_CRL_FILE: CRLs of the outside CAs in the client CA bundle. TLS checks a
 * client certificate's chain and dates, never its revocation, and certmint's records know only
 * the certificates it issued, so until 2026-12-04 a client certificate an outside CA had
 * revoked authenticated until it expired. The PKI and every CRL are made with openssl (an
 * outside root, an intermediate under it, client certificates under the intermediate), so
 * certmint's CRL reader is checked against another implementation's CRLs.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ClientCertificateIdentityType,
  CreateAccessTokenRequest,
  Role,
} from "../../gen/ts/certmint/v1/access_token_service";
import { ListCertificatesRequest } from "../../gen/ts/certmint/v1/certificate_service";
import { ClientCrlError, ClientCrls } from "../../src/auth/client-crls";
import { loadConfig } from "../../src/config";
import { checkTlsFiles, readTlsFilesSync } from "../../src/server/tls-files";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
import { type MtlsServer, startMtlsServer } from "../support/mtls-server";
import { opensslOk, TempDir } from "../support/openssl";
import { waitFor } from "../support/wait";
import { type Issued, makeCa, makeIntermediate, makeLeaf, replaceAtomically } from "../tls/pki";

const SPIFFE = "spiffe://outside.example/ns/app/sa";

/** An openssl CA with a revocation database, whose CRLs `crl` writes. */
interface OpensslCa extends Issued {
  revoke(cert: Issued): void;
  /** The CA's CRL (PEM); `nextUpdate` in openssl's YYYYMMDDHHMMSSZ form, default a day on. */
  crl(options?: { lastUpdate?: string; nextUpdate?: string; extensions?: string }): string;
}

function withRevocations(dir: TempDir, ca: Issued, name: string): OpensslCa {
  const index = dir.file(`${name}-index.txt`, "");
  const crlNumber = dir.file(`${name}-crlnumber`, "01\n");
  const config = dir.file(
    `${name}-ca.cnf`,
    [
      "[ca]",
      "default_ca = ca_default",
      "[ca_default]",
      `database = ${index}`,
      `crlnumber = ${crlNumber}`,
      "default_md = sha256",
      "default_crl_days = 1",
      "[critical_idp]",
      "issuingDistributionPoint = critical,@idp",
      "[idp]",
      "fullname = URI:http://crl.outside.example/ca.crl",
      "onlysomereasons = keyCompromise",
    ].join("\n"),
  );
  const base = ["-config", config, "-cert", ca.certFile, "-keyfile", ca.keyFile];
  return {
    ...ca,
    revoke(cert) {
      opensslOk(["ca", ...base, "-revoke", cert.certFile]);
    },
    crl(options = {}) {
      const out = dir.out(`${name}.crl`);
      opensslOk([
        "ca",
        ...base,
        "-gencrl",
        ...(options.lastUpdate ? ["-crl_lastupdate", options.lastUpdate] : []),
        ...(options.nextUpdate ? ["-crl_nextupdate", options.nextUpdate] : []),
        ...(options.extensions ? ["-crlexts", options.extensions] : []),
        "-out",
        out,
      ]);
      return opensslOk(["crl", "-in", out]);
    },
  };
}

/** openssl's time form, `hours` from now. */
const opensslTime = (hours: number) =>
  `${new Date(Date.now() + hours * 3_600_000).toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`;

describe("CRLs of outside client CAs (CERTMINT_TLS_CLIENT_CRL_FILE)", () => {
  const dir = new TempDir();
  let h: TestCertmint;
  let server: MtlsServer;
  let root: OpensslCa;
  let intermediate: OpensslCa;
  let kept: Issued;
  let revoked: Issued;
  let crlFile: string;

  /** One connection per certificate, kept: a new one per call would meet the per-address cap. */
  const connections = new Map<Issued, ReturnType<MtlsServer["over"]>>();
  const over = (cert: Issued) => {
    let c = connections.get(cert);
    if (!c) {
      c = server.over(cert);
      connections.set(cert, c);
    }
    return c;
  };
  const listAs = (cert: Issued) =>
    call(
      over(cert).certificates,
      "listCertificates",
      ListCertificatesRequest.fromPartial({ pageSize: 1 }),
    );
  /** The refusal reason of a call presenting `cert`, or "OK". */
  const outcomeOf = async (cert: Issued): Promise<string> => {
    const failure = await listAs(cert).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (failure === undefined) return "OK";
    const err = await expectRpcError(Promise.reject(failure));
    expect(err.code).toBe(status.UNAUTHENTICATED);
    return err.reason ?? "";
  };
  const writeCrls = (...pems: string[]) => replaceAtomically(crlFile, pems.join(""));

  beforeAll(async () => {
    root = withRevocations(dir, makeCa(dir, "Outside Root"), "root");
    intermediate = withRevocations(
      dir,
      makeIntermediate(dir, root, "Outside Issuing CA"),
      "intermediate",
    );
    kept = makeLeaf(dir, intermediate, "kept", "client", [`URI:${SPIFFE}/kept`]);
    revoked = makeLeaf(dir, intermediate, "revoked", "client", [`URI:${SPIFFE}/revoked`]);
    crlFile = dir.file("client-crls.pem", root.crl() + intermediate.crl());
    h = await startTestCertmint();
    server = await startMtlsServer(h, dir, root.certPem + intermediate.certPem, {
      env: {
        CERTMINT_TLS_CLIENT_CRL_FILE: crlFile,
        CERTMINT_TLS_RELOAD_INTERVAL_MS: "100",
        // The waits below poll with certificates that are refused (for up to the 5 s that a
        // refusal is cached): the per-address limit on failed authentications is not under test.
        CERTMINT_AUTH_FAILURE_LIMIT_PER_SECOND: "0",
        CERTMINT_METRICS_LISTEN: "127.0.0.1:0",
      },
    });
    for (const cert of [kept, revoked]) {
      const uri = new X509Certificate(cert.certPem).subjectAltName!.replace(/^URI:/, "");
      await call(
        h.accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: {
            slug: uri.split("/").pop()!,
            role: Role.ROLE_AUDITOR,
            clientCertificateBinding: {
              identityType: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_URI_SAN,
              value: uri,
              // The root: its intermediate's certificates are accepted under it.
              issuerCertificateSha256: root.fingerprint,
            },
          },
        }),
      );
    }
  });
  afterAll(async () => {
    await server?.stop();
    await h?.stop();
    dir.remove();
  });

  it("exports each client CA's CRL nextUpdate, for alerting before it passes", async () => {
    const scrape = await (
      await fetch(`http://127.0.0.1:${server.running.metricsPort}/metrics`)
    ).text();
    const gauge = "certmint_tls_client_crl_next_update_timestamp_seconds";
    const seen = new Map(
      [...scrape.matchAll(new RegExp(`^${gauge}\\{issuer="([^"]+)"\\} (\\d+)$`, "gm"))].map((m) => [
        m[1]!,
        Number(m[2]),
      ]),
    );
    // openssl's reading of the same file: the CRLs, one after another.
    const file = readFileSync(crlFile, "latin1");
    const blocks = file.match(/-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----\n?/g)!;
    const expected = new Map(
      blocks.map((pem) => {
        const out = opensslOk(["crl", "-noout", "-issuer", "-nextupdate"], pem);
        const issuer = /issuer=\s*(.+)/
          .exec(out)![1]!
          .replace(/\s*=\s*/g, "=")
          .trim();
        const next = Date.parse(/nextUpdate=(.+)/.exec(out)![1]!) / 1000;
        return [issuer, next];
      }),
    );
    expect(seen).toEqual(expected);
  });

  it("refuses a certificate once its CA's CRL lists it, re-read without a restart", async () => {
    expect(await outcomeOf(kept)).toBe("OK");
    expect(await outcomeOf(revoked)).toBe("OK");

    intermediate.revoke(revoked);
    writeCrls(root.crl(), intermediate.crl());
    await waitFor(
      "the revoked client certificate to be refused",
      async () => (await outcomeOf(revoked)) === "CLIENT_CERTIFICATE_REVOKED",
    );
    const err = await expectRpcError(listAs(revoked));
    expect(err.message).toContain(revoked.serial.replace(/^0+/, ""));
    expect(err.message).toContain("CERTMINT_TLS_CLIENT_CRL_FILE");
    expect(await outcomeOf(kept)).toBe("OK");
  });

  it("refuses every certificate of a CA whose CRL is past its nextUpdate, until a current one comes", async () => {
    writeCrls(
      root.crl(),
      intermediate.crl({ lastUpdate: opensslTime(-3), nextUpdate: opensslTime(-1) }),
    );
    await waitFor(
      "a certificate under a stale CRL to be refused",
      async () => (await outcomeOf(kept)) === "CLIENT_CERTIFICATE_CRL_STALE",
    );
    const err = await expectRpcError(listAs(kept));
    expect(err.message).toContain("Outside Issuing CA");
    expect(err.message).toContain("nextUpdate");

    writeCrls(root.crl(), intermediate.crl());
    await waitFor("a current CRL to be used again", async () => (await outcomeOf(kept)) === "OK");
    expect(await outcomeOf(revoked)).toBe("CLIENT_CERTIFICATE_REVOKED");
  });

  it("refuses certificates under an intermediate that the root's CRL lists", async () => {
    root.revoke(intermediate);
    writeCrls(root.crl(), intermediate.crl());
    await waitFor(
      "certificates under the revoked intermediate to be refused",
      async () => (await outcomeOf(kept)) === "CLIENT_CERTIFICATE_ISSUER_REVOKED",
    );
    const err = await expectRpcError(listAs(kept));
    expect(err.message).toContain(intermediate.serial.replace(/^0+/, ""));
  });

  it("refuses a file it cannot use as a whole, naming the variable (a reload keeps the previous files)", () => {
    const config = loadConfig({
      CERTMINT_TLS_CERT_FILE: server.serverCa.certFile,
      CERTMINT_TLS_KEY_FILE: server.serverCa.keyFile,
      CERTMINT_TLS_CLIENT_CA_FILE: dir.file("bundle.pem", root.certPem),
      CERTMINT_TLS_CLIENT_CRL_FILE: dir.file("garbage.crl", "not a CRL"),
    }).tls!;
    expect(() => checkTlsFiles(config, readTlsFilesSync(config))).toThrow(
      /CERTMINT_TLS_CLIENT_CRL_FILE \(.*garbage\.crl\): holds no PEM CRL/,
    );
    expect(() => ClientCrls.load(Buffer.from("not a CRL"), [])).toThrow(ClientCrlError);
  });

  describe("what the loader refuses (a start-up with such a file exits)", () => {
    const cas = () => [
      new X509Certificate(root.certPem),
      new X509Certificate(intermediate.certPem),
    ];

    it("a CRL of a CA outside the bundle", () => {
      const stranger = withRevocations(dir, makeCa(dir, "Stranger CA"), "stranger");
      expect(() => ClientCrls.load(Buffer.from(stranger.crl()), cas())).toThrow(
        /CRL 1: its issuer is the subject of no CA certificate in the client CA bundle/,
      );
    });

    it("a CRL with the issuer's name whose signature another key made", () => {
      // Same subject as the bundle's root, another key: the name matches, the signature not.
      const impostor = withRevocations(dir, makeCa(dir, "Outside Root"), "impostor");
      expect(() => ClientCrls.load(Buffer.from(root.crl() + impostor.crl()), cas())).toThrow(
        /CRL 2 \(issuer CN=Outside Root\): its signature does not verify/,
      );
    });

    it("a CRL with a critical extension certmint does not process (a scoped CRL)", () => {
      expect(() =>
        ClientCrls.load(Buffer.from(root.crl({ extensions: "critical_idp" })), cas()),
      ).toThrow(/critical extensions certmint does not process \(2\.5\.29\.28\)/);
    });

    it("reads one DER CRL as well as PEM bundles of several CAs' CRLs", () => {
      const older = root.crl();
      const der = Buffer.from(older.replace(/-----[^-]+-----|\s/g, ""), "base64");
      expect(ClientCrls.load(der, cas()).size).toBe(1);
      expect(ClientCrls.load(Buffer.from(older + intermediate.crl()), cas()).size).toBe(2);
    });

    it("needs the client CA bundle (configuration)", () => {
      const crl = dir.file("lone.crl", root.crl());
      writeFileSync(crl, root.crl());
      expect(() =>
        loadConfig({
          CERTMINT_TLS_CERT_FILE: server.serverCa.certFile,
          CERTMINT_TLS_KEY_FILE: server.serverCa.keyFile,
          CERTMINT_TLS_CLIENT_CRL_FILE: crl,
        }),
      ).toThrow(/CERTMINT_TLS_CLIENT_CRL_FILE needs CERTMINT_TLS_CLIENT_CA_FILE/);
    });
  });
});
