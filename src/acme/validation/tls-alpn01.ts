import { isIP } from "node:net";
import { connect } from "node:tls";
import { readAlpnCertificate } from "../../signer/acme-identifier";
import { keyAuthorizationDigest } from "../../signer/jws";
import { AcmeProblem } from "../problem";
import type { ValidationTargets } from "./targets";

/** The ALPN protocol of tls-alpn-01 (RFC 8737 6.2). */
export const ACME_TLS_ALPN = "acme-tls/1";

/**
 * tls-alpn-01 (RFC 8737 3): a TLS handshake to the identifier's address on the challenge port,
 * SNI the identifier (RFC 8738 6: the reverse-DNS name for an IP), offering only acme-tls/1.
 * The server must select acme-tls/1 and present a certificate whose only SAN is the identifier
 * and whose critical acmeIdentifier extension holds SHA-256 of the key authorization. The
 * certificate is not checked against any trust store: the digest is the proof.
 */
export async function validateTlsAlpn01(
  targets: ValidationTargets,
  identifier: { type: "dns" | "ip"; value: string },
  keyAuthorization: string,
  port: number,
  timeoutMs: number,
): Promise<void> {
  const [address] = await targets.addressesOf(identifier.value);
  const servername = identifier.type === "dns" ? identifier.value : reverseName(identifier.value);
  const der = await new Promise<Buffer>((resolve, reject) => {
    const fail = (detail: string) => reject(new AcmeProblem("tls", `tls-alpn-01: ${detail}`));
    const socket = connect({
      host: address,
      port,
      servername,
      ALPNProtocols: [ACME_TLS_ALPN],
      rejectUnauthorized: false,
      minVersion: "TLSv1.2",
    });
    const timer = setTimeout(() => {
      socket.destroy();
      fail("timed out");
    }, timeoutMs);
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      const alpn = socket.alpnProtocol;
      const cert = socket.getPeerX509Certificate();
      socket.destroy();
      if (alpn !== ACME_TLS_ALPN) {
        fail(`the server did not select ${ACME_TLS_ALPN}`);
        return;
      }
      if (!cert) {
        fail("the server sent no certificate");
        return;
      }
      resolve(cert.raw);
    });
    socket.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(`cannot connect (${err.code ?? "handshake failed"})`);
    });
  });
  let fields: ReturnType<typeof readAlpnCertificate>;
  try {
    fields = readAlpnCertificate(der);
  } catch {
    throw new AcmeProblem("tls", "tls-alpn-01: the certificate cannot be parsed");
  }
  const names = [...fields.sans.dns.map((d) => d.toLowerCase()), ...fields.sans.ip];
  if (names.length !== 1 || names[0] !== identifier.value) {
    throw new AcmeProblem(
      "incorrectResponse",
      "tls-alpn-01: the certificate must name exactly the identifier",
      403,
    );
  }
  if (!fields.digest || !fields.critical) {
    throw new AcmeProblem(
      "incorrectResponse",
      "tls-alpn-01: the certificate has no critical acmeIdentifier extension",
      403,
    );
  }
  if (!fields.digest.equals(keyAuthorizationDigest(keyAuthorization))) {
    throw new AcmeProblem(
      "incorrectResponse",
      "tls-alpn-01: acmeIdentifier is not the digest of this challenge's key authorization",
      403,
    );
  }
}

/** RFC 8738 6: in-addr.arpa / ip6.arpa name of an address, the SNI of an IP identifier. */
function reverseName(ip: string): string {
  if (isIP(ip) === 4) return `${ip.split(".").reverse().join(".")}.in-addr.arpa`;
  const groups = ip.split("::");
  const head = groups[0] ? groups[0].split(":") : [];
  const tail = groups[1] ? groups[1].split(":") : [];
  const full = [...head, ...Array(8 - head.length - tail.length).fill("0"), ...tail];
  const nibbles = full.map((g) => g.padStart(4, "0")).join("");
  return `${[...nibbles].reverse().join(".")}.ip6.arpa`;
}
