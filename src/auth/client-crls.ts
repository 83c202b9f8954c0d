/**
 * Revocation of client certificates that outside CAs issued (CERTMINT_TLS_CLIENT_CRL_FILE).
 *
 * TLS checks a client certificate's chain and dates, not its revocation, and certmint's own
 * records only know the certificates certmint issued (authenticator.ts checks those). For a CA
 * of the client CA bundle, the operator may give its CRLs: a certificate on one is refused,
 * and so is any certificate whose issuer's CRL has passed its nextUpdate (RFC 5280 6.3.3: with
 * no current CRL its status cannot be determined; certmint fails closed, as nginx and OpenSSL
 * do with a CRL configured). A CA of the bundle with no CRL in the file is trusted as before.
 *
 * A CRL counts for a CA certificate of the bundle only when its issuer is that certificate's
 * subject, byte for byte, and that certificate's key verifies its signature; a full CRL only:
 * one with a critical extension certmint does not process (a delta CRL, an issuing
 * distribution point that scopes it, an indirect CRL's certificate issuer) is refused.
 */
import { type KeyObject, verify, type X509Certificate } from "node:crypto";
import type { IssuingLink } from "../signer";
import { type CrlReadError, type ReadCrl, readCrl, serialKey } from "../signer/crl-read";
import { Class, parseDer, Type, toDer } from "../signer/der";
import { children, isTag } from "../signer/der-read";

/** The CRL in force for one CA certificate. */
interface CaCrl {
  readonly issuer: string;
  readonly thisUpdate: Date;
  readonly nextUpdate?: Date;
  readonly revoked: ReadonlySet<string>;
}

/** Why a client certificate's links fail: a revoked certificate, or no current CRL. */
export type CrlVerdict =
  | { readonly kind: "revoked"; readonly depth: number; readonly serialNumber: string }
  | { readonly kind: "stale"; readonly issuer: string; readonly nextUpdate?: Date };

export class ClientCrlError extends Error {}

const PEM_CRL = /-----BEGIN X509 CRL-----([\s\S]+?)-----END X509 CRL-----/g;

export class ClientCrls {
  /** By the SHA-256 (lower-case hex) of the CA certificate that verified the CRL. */
  private constructor(private readonly byCa: ReadonlyMap<string, CaCrl>) {}

  static readonly NONE = new ClientCrls(new Map());

  /** CRLs the file holds (each CA certificate's newest), checked against the bundle's CAs. */
  get size(): number {
    return this.byCa.size;
  }

  /**
   * The CRLs of `file` (PEM blocks "X509 CRL", or one DER CRL), each verified by a CA
   * certificate of `cas`; a ClientCrlError (one line, naming the CRL by its position and
   * issuer) when one cannot be used.
   */
  static load(file: Buffer, cas: readonly X509Certificate[]): ClientCrls {
    const ders = crlDers(file);
    if (ders.length === 0) throw new ClientCrlError("holds no PEM CRL (-----BEGIN X509 CRL-----)");
    const subjects = cas.map((ca) => ({ ca, subject: subjectDer(ca) }));
    const byCa = new Map<string, CaCrl>();
    ders.forEach((der, index) => {
      const at = `CRL ${index + 1}`;
      let crl: ReadCrl;
      try {
        crl = readCrl(der);
      } catch (err) {
        throw new ClientCrlError(`${at} is malformed: ${(err as CrlReadError).message}`);
      }
      const issuers = subjects.filter((s) => s.subject?.equals(crl.issuerDer));
      const issuer = issuers[0]?.ca.subject?.split("\n").join(", ") ?? "";
      if (issuers.length === 0) {
        throw new ClientCrlError(
          `${at}: its issuer is the subject of no CA certificate in the client CA bundle`,
        );
      }
      if (crl.hash === undefined) {
        throw new ClientCrlError(
          `${at} (issuer ${issuer}) has a signature algorithm certmint does not know`,
        );
      }
      if (crl.criticalExtensions.length > 0) {
        throw new ClientCrlError(
          `${at} (issuer ${issuer}) has critical extensions certmint does not process (${crl.criticalExtensions.join(", ")}): give full CRLs, not delta, partitioned or indirect ones`,
        );
      }
      const verifiers = issuers.filter((s) => verifies(crl, s.ca.publicKey));
      if (verifiers.length === 0) {
        throw new ClientCrlError(
          `${at} (issuer ${issuer}): its signature does not verify with that CA's key`,
        );
      }
      for (const { ca } of verifiers) {
        const sha256 = ca.fingerprint256.replace(/:/g, "").toLowerCase();
        const held = byCa.get(sha256);
        if (held && held.thisUpdate >= crl.thisUpdate) continue;
        byCa.set(sha256, {
          issuer,
          thisUpdate: crl.thisUpdate,
          ...(crl.nextUpdate ? { nextUpdate: crl.nextUpdate } : {}),
          revoked: crl.revokedSerials,
        });
      }
    });
    return new ClientCrls(byCa);
  }

  /** Each CRL in force: its CA's subject and its nextUpdate (metrics: alert before it passes). */
  list(): Array<{ issuer: string; nextUpdate?: Date }> {
    return [...this.byCa.values()].map(({ issuer, nextUpdate }) => ({
      issuer,
      ...(nextUpdate ? { nextUpdate } : {}),
    }));
  }

  /** The CRLs that are not current at `now` (past nextUpdate, or without one). */
  stale(now: Date): Array<{ issuer: string; nextUpdate?: Date }> {
    return this.list().filter(
      (crl) => !crl.nextUpdate || crl.nextUpdate.getTime() <= now.getTime(),
    );
  }

  /** The first link that fails, nearest the leaf first; undefined when none does. */
  check(links: readonly IssuingLink[], now: Date): CrlVerdict | undefined {
    for (const link of [...links].sort((a, b) => a.depth - b.depth)) {
      const crl = this.byCa.get(link.issuerSha256);
      if (!crl) continue;
      if (!isCurrent(crl, now)) {
        return {
          kind: "stale",
          issuer: crl.issuer,
          ...(crl.nextUpdate ? { nextUpdate: crl.nextUpdate } : {}),
        };
      }
      if (crl.revoked.has(serialKey(link.serialNumber))) {
        return { kind: "revoked", depth: link.depth, serialNumber: serialKey(link.serialNumber) };
      }
    }
    return undefined;
  }
}

const isCurrent = (crl: CaCrl, now: Date): boolean =>
  crl.nextUpdate !== undefined && crl.nextUpdate.getTime() > now.getTime();

function crlDers(file: Buffer): Buffer[] {
  const text = file.toString("latin1");
  const blocks = [...text.matchAll(PEM_CRL)].map((m) =>
    Buffer.from(m[1]!.replace(/\s+/g, ""), "base64"),
  );
  if (blocks.length > 0) return blocks;
  // One DER CRL, as CAs publish them at their distribution points.
  return file[0] === 0x30 ? [file] : [];
}

function verifies(crl: ReadCrl, key: KeyObject): boolean {
  try {
    return verify(crl.hash ?? null, crl.signedBytes, { key, dsaEncoding: "der" }, crl.signature);
  } catch {
    return false;
  }
}

/**
 * A certificate's subject Name as DER, re-encoded the way crl-read.ts encodes a CRL's issuer,
 * so the two compare byte for byte. Undefined when the certificate does not parse here.
 * TBSCertificate ::= SEQUENCE { [0] version, serialNumber, signature, issuer, validity, subject, ... }
 */
function subjectDer(ca: X509Certificate): Buffer | undefined {
  try {
    const [tbs] = children(parseDer(ca.raw).node, "Certificate");
    const fields = children(tbs, "tbsCertificate");
    const offset = isTag(fields[0], Class.CONTEXT_SPECIFIC, 0) ? 1 : 0;
    const subject = fields[offset + 4];
    if (!isTag(subject, Class.UNIVERSAL, Type.SEQUENCE)) return undefined;
    return toDer(subject!);
  } catch {
    return undefined;
  }
}
