/**
 * A client certificate's names in a refusal go through quoted() (errors.ts,
 * auth/client-certificates.ts describe): a CA the operator trusts may have signed a common name
 * carrying bidi, control or zero-width characters (a CN is any UTF8String, RFC 5280 4.1.2.4),
 * and the refusal's message shows them escaped (\u202e), never raw. Until stop 46 of 2026-12-06
 * the names were quoted as "..." and went out raw (a leftover of an outside probe, P).
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
import { type MtlsClients, mtlsClients } from "../support/mtls-server";
import { opensslOk, TempDir } from "../support/openssl";
import { type Issued, makeCa, makeLeaf } from "../tls/pki";

/** "evil", RIGHT-TO-LEFT OVERRIDE, "gnp.exe", ESC "[31m", ZERO WIDTH SPACE, "x". */
const HOSTILE_CN = "evil\u202egnp.exe\u001b[31m\u200bx";

/** A client certificate signed by `ca` whose subject CN is `cn`, taken as UTF-8 (-utf8). */
function utf8ClientLeaf(dir: TempDir, ca: Issued, cn: string): { certPem: string; keyPem: string } {
  const keyFile = dir.out("hostile.key");
  const csr = dir.out("hostile.csr");
  const certFile = dir.out("hostile.pem");
  opensslOk([
    "req",
    "-new",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    csr,
    "-utf8",
    "-subj",
    `/CN=${cn}`,
  ]);
  opensslOk([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.certFile,
    "-CAkey",
    ca.keyFile,
    "-set_serial",
    "0x0142",
    "-days",
    "1",
    "-extfile",
    dir.file(
      "hostile.ext",
      [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature",
        "extendedKeyUsage=clientAuth",
      ].join("\n"),
    ),
    "-out",
    certFile,
  ]);
  return {
    certPem: opensslOk(["x509", "-in", certFile]),
    keyPem: opensslOk(["pkey", "-in", keyFile]),
  };
}

describe("a client certificate's names in a refusal (stop 46, P leftover)", () => {
  const dir = new TempDir();
  let h: TestCertmint;
  let clients: MtlsClients;
  let hostile: { certPem: string; keyPem: string };

  beforeAll(async () => {
    const serverCa = makeCa(dir, "certmint server CA");
    const clientCa = makeCa(dir, "certmint client CA");
    const server = makeLeaf(dir, serverCa, "certmint", "server");
    hostile = utf8ClientLeaf(dir, clientCa, HOSTILE_CN);
    h = await startTestCertmint({
      CERTMINT_TLS_CERT_FILE: server.certFile,
      CERTMINT_TLS_KEY_FILE: server.keyFile,
      CERTMINT_TLS_CLIENT_CA_FILE: clientCa.certFile,
    });
    clients = mtlsClients(serverCa);
  });
  afterAll(async () => {
    clients?.closeAll();
    await h?.stop();
    dir.remove();
  });

  it("names the unbound certificate's common name escaped, with no raw bidi, control or zero-width character", async () => {
    // The certificate carries the characters raw (openssl reads the subject back as UTF-8).
    expect(
      opensslOk(
        ["x509", "-noout", "-subject", "-nameopt", "utf8,-esc_msb,-esc_ctrl"],
        hostile.certPem,
      ),
    ).toContain(HOSTILE_CN);
    const c = clients.at(h.address, hostile);
    const err = await expectRpcError(
      call(c.certificates, "listCertificates", {
        pageSize: 0,
        pageToken: "",
        certificateProfile: "",
        certificateAuthority: "",
        status: 0,
        expiresBefore: undefined,
        nameContains: "",
        view: 0,
      }),
    );
    expect(err).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "CLIENT_CERTIFICATE_NOT_BOUND",
    });
    expect(err.message).toContain('common name "evil\\u202egnp.exe\\u001b[31m\\u200bx"');
    expect(err.message).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
  });
});
