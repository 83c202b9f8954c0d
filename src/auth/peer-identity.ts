/**
 * The identity in a call's verified client certificate (mTLS). grpc-js exposes the peer
 * certificate only when the TLS handshake verified it against the configured client CAs
 * (socket.authorized), so an unverified certificate yields no identity.
 */
import { createHash } from "node:crypto";
import type { PeerCertificate } from "node:tls";
import { parseCertificate } from "../signer";

export interface PeerIdentity {
  /** Subject in RFC 4514 form. */
  readonly subject: string;
  /** The subject commonName, when the subject has exactly one. */
  readonly commonName?: string;
  /** URI SANs (e.g. SPIFFE IDs), exactly as in the certificate. */
  readonly uris: readonly string[];
  readonly dnsNames: readonly string[];
  /** Serial number in certmint's form: lower-case hex. */
  readonly serialNumber: string;
  /** SHA-256 of the certificate's DER, lower-case hex. */
  readonly fingerprintSha256: string;
  /** The certificate's DER (its issuing chain is rebuilt from it: src/auth/client-certificates.ts). */
  readonly der: Buffer;
  /** Why its names could not be read, when the parser refused it (it then presents none). */
  readonly unreadable?: string;
}

/** What grpc-js's call.getAuthContext() returns (the part read here). */
export interface AuthContextLike {
  readonly sslPeerCertificate?: PeerCertificate;
}

// Every call of a connection carries the same certificate: parse each once.
const cache = new Map<string, PeerIdentity>();
const CACHE_LIMIT = 1024;

export function peerIdentity(auth: AuthContextLike | null | undefined): PeerIdentity | undefined {
  const peer = auth?.sslPeerCertificate;
  if (!peer?.raw) return undefined;
  const key = peer.fingerprint256;
  let identity = cache.get(key);
  if (identity === undefined) {
    identity = fromDer(peer);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(key, identity);
  }
  return identity;
}

/**
 * SANs are read from the DER with the signer's parser, not from Node's `subjectaltname`
 * string, whose ", "-joined form is ambiguous for crafted names. A certificate OpenSSL
 * verified but the parser refuses still identifies by serial and fingerprint, with no names,
 * and says why (`unreadable`: a refusal of it names the parser's reason).
 */
function fromDer(peer: PeerCertificate): PeerIdentity {
  let parsed: ReturnType<typeof parseCertificate>;
  try {
    parsed = parseCertificate(peer.raw);
  } catch (err) {
    return {
      unreadable: err instanceof Error ? err.message : String(err),
      subject: "",
      uris: [],
      dnsNames: [],
      serialNumber: peer.serialNumber.toLowerCase(),
      fingerprintSha256: createHash("sha256").update(peer.raw).digest("hex"),
      der: peer.raw,
    };
  }
  const cns = (parsed.subject?.attributes ?? []).filter((a) => a.type === "COMMON_NAME");
  return {
    subject: parsed.subjectString,
    ...(cns.length === 1 ? { commonName: cns[0]!.value } : {}),
    uris: parsed.sans.uri,
    dnsNames: parsed.sans.dns,
    serialNumber: parsed.serialHex,
    fingerprintSha256: parsed.fingerprintSha256,
    der: peer.raw,
  };
}

/**
 * The identity a stored certificate would present as a TLS peer, read exactly as peerIdentity
 * reads one (the last-admin guard, admin-credentials.ts, and a cut line's certificates,
 * issuance/access-tokens/line.ts, judge stored certificates as authentication would).
 */
export function storedCertificateIdentity(certificate: {
  certificatePem: string;
  serialNumber: string;
  fingerprintSha256: string;
}): PeerIdentity | undefined {
  const der = Buffer.from(certificate.certificatePem.replace(/-----[^-]+-----|\s+/g, ""), "base64");
  return peerIdentity({
    sslPeerCertificate: {
      raw: der,
      serialNumber: certificate.serialNumber,
      fingerprint256: certificate.fingerprintSha256,
    } as PeerCertificate,
  });
}
