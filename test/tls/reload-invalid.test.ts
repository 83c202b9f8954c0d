/**
 * A reload that would replace a certificate valid now by one that is not (expired, or not valid
 * yet: a renewal job that wrote back an old pair, a clock-skewed issuer) keeps the valid one and
 * says why, once. Until stop 41 of 2026-12-06 it was served with a warning, and every client's
 * handshake failed from then on (an outside probe).
 */
import { createPrivateKey, generateKeyPairSync, X509Certificate } from "node:crypto";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Issuer, issueCertificate, newSerialNumber, SoftwareSigner } from "../../src/signer";
import { TempDir } from "../support/openssl";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import {
  type Issued,
  makeCa,
  makeLeaf,
  replaceAtomically,
  servedFingerprint,
  tlsHealthCheck,
  waitFor,
} from "./pki";
import { type LoggedCertmint, startLogged } from "./server";

describe("a TLS reload to a certificate that is not valid now", () => {
  const dir = new TempDir();
  let db: TestDatabase;
  let ca: Issued;
  let first: Issued;
  let certFile: string;
  let keyFile: string;
  let server: LoggedCertmint;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    ca = makeCa(dir, "reload CA");
    first = makeLeaf(dir, ca, "certmint.test", "server");
    certFile = join(dir.path, "live-cert.pem");
    keyFile = join(dir.path, "live-key.pem");
    copyFileSync(first.certFile, certFile);
    copyFileSync(first.keyFile, keyFile);
    server = await startLogged(db.url, {
      CERTMINT_TLS_CERT_FILE: certFile,
      CERTMINT_TLS_KEY_FILE: keyFile,
      CERTMINT_TLS_RELOAD_INTERVAL_MS: "200",
    });
  });
  afterAll(async () => {
    await server?.running.shutdown();
    await db?.drop();
    dir.remove();
  });

  it("keeps serving the valid certificate and reports the new one once", async () => {
    // Signed by the same CA (which lasts a day), valid from twelve hours on.
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const day = 86_400_000;
    const later = await issueCertificate({
      subject: { attributes: [{ type: "COMMON_NAME", value: "certmint.test" }] },
      sans: { dns: ["localhost"], ip: ["127.0.0.1"], email: [], uri: [] },
      publicKey,
      serial: newSerialNumber(),
      notBefore: new Date(Date.now() + day / 2),
      notAfter: new Date(Date.now() + (3 * day) / 4),
      isCa: false,
      keyUsages: ["DIGITAL_SIGNATURE"],
      extendedKeyUsages: ["SERVER_AUTH"],
      signatureAlgorithm: "ECDSA_WITH_SHA256",
      issuer: Issuer.from({
        signer: new SoftwareSigner(createPrivateKey(ca.keyPem)),
        certificate: ca.certPem,
      }),
    });
    expect(Date.parse(new X509Certificate(later.pem).validFrom)).toBeGreaterThan(Date.now());

    replaceAtomically(keyFile, privateKey.export({ type: "pkcs8", format: "pem" }).toString());
    replaceAtomically(certFile, later.pem);
    await waitFor("the refusal to be reported", () =>
      server.logs.some(
        (l) =>
          l.msg ===
            "TLS files changed but cannot be used: still serving the previous certificate" &&
          /holds a certificate that is not valid now/.test(String(l.problem)),
      ),
    );
    expect(await servedFingerprint(server.port, ca.certPem)).toBe(first.fingerprint);
    expect(await tlsHealthCheck(server.port, ca.certPem)).toBe("SERVING");
    expect(server.logs.filter((l) => l.msg === "TLS certificate reloaded")).toEqual([]);

    // A valid pair in place again is served at once.
    const third = makeLeaf(dir, ca, "certmint.test", "server");
    replaceAtomically(keyFile, third.keyPem);
    replaceAtomically(certFile, third.certPem);
    await waitFor(
      "a new connection to see the valid replacement",
      async () => (await servedFingerprint(server.port, ca.certPem)) === third.fingerprint,
    );
  });
});
