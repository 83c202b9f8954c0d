/**
 * An issuing CA ready to sign: its signer plus the pieces every certificate and CRL it signs
 * repeats (issuer Name DER, authority key identifier). Build one per CA and keep it; building
 * it parses the CA certificate and checks that it may sign.
 */
import { failedPrecondition, fieldViolation, invalidArgument, quoted } from "../errors";
import {
  EKU_OIDS,
  type ExtendedKeyUsage,
  type NameConstraints,
  type SubjectAltNames,
  type SubjectName,
} from "../model/pki";
import type { CaSigner } from "./ca-signer";
import { type Asn1, parseDer, toDer } from "./der";
import { children } from "./der-read";
import { authorityKeyIdentifier } from "./extensions";
import { subjectToDer } from "./name";
import { hasNameConstraints, namesOutside, subtreesOutside } from "./name-constraints";
import { type ParsedCertificate, parseCertificate } from "./parse-certificate";
import { spkiOf } from "./spki";

export interface IssuerInit {
  signer: CaSigner;
  /** The CA's certificate (PEM, DER or parsed). Gives name, key id, validity and constraints. */
  certificate?: ParsedCertificate | string | Uint8Array;
  /** Without a certificate: the CA's subject as exact DER, or as a SubjectName. */
  subjectDer?: Uint8Array;
  subject?: SubjectName;
  /** Without a certificate: defaults to RFC 5280 4.2.1.2 method (1) over the signer's key. */
  subjectKeyIdentifier?: Buffer;
  /**
   * The CA certificates above this one (its parent first, then up to the root, an outside
   * chain's included): their nameConstraints bind everything below them too (RFC 5280 6.1.3).
   */
  chain?: Array<string | Uint8Array>;
}

export class Issuer {
  /** Issuer Name, parsed once and embedded as-is in every TBSCertificate / TBSCertList. */
  readonly name: Asn1;
  /** The authorityKeyIdentifier extension (RFC 5280 4.2.1.1, 5.2.1), built once. */
  readonly authorityKeyIdentifierExtension: Asn1;
  /** Its DER, for TBSCertificates assembled from bytes (certificate.ts). */
  readonly authorityKeyIdentifierDer: Buffer;

  private constructor(
    readonly signer: CaSigner,
    readonly nameDer: Buffer,
    readonly keyIdentifier: Buffer,
    readonly certificate: ParsedCertificate | undefined,
    /** The CAs above it that have nameConstraints, nearest first. */
    readonly constrainingAncestors: ParsedCertificate[] = [],
    /**
     * The earliest notAfter on its path (its own and its chain's): nothing it signs may outlive
     * any CA above it, whose expiry ends every path through it (RFC 5280 6.1.3 (a)(2)). An
     * outside chain may end before the CA it signed (a probe, 2026-12-05).
     */
    readonly pathNotAfter: Date | undefined = certificate?.notAfter,
    /**
     * The latest notBefore on its path: nothing it signs starts before a CA above it does, or
     * the path fails validation for those seconds (RFC 5280 6.1.3 (a)(2)). An outside CA signed
     * "now" is not backdated as certmint's own are (an outside lint probe, 2026-12-05).
     */
    readonly pathNotBefore: Date | undefined = certificate?.notBefore,
    /**
     * The certificates on its path, its own first, then up to the root, whose
     * extendedKeyUsage limits what it may certify (none lists anyExtendedKeyUsage): OpenSSL,
     * Go and Windows refuse a certificate whose purposes are not within every EKU above it.
     */
    readonly extendedKeyUsageLimits: ParsedCertificate[] = [],
  ) {
    this.name = parseDer(nameDer).node;
    this.authorityKeyIdentifierExtension = authorityKeyIdentifier(keyIdentifier);
    this.authorityKeyIdentifierDer = toDer(this.authorityKeyIdentifierExtension);
  }

  static from(init: Issuer | IssuerInit): Issuer {
    if (init instanceof Issuer) return init;
    const { signer } = init;
    if (init.certificate !== undefined) {
      const cert =
        typeof init.certificate === "string" || init.certificate instanceof Uint8Array
          ? parseCertificate(init.certificate)
          : init.certificate;
      assertCanIssue(signer, cert);
      const chain = (init.chain ?? []).map((c) => parseCertificate(c));
      const pathNotAfter = new Date(
        Math.min(cert.notAfter.getTime(), ...chain.map((c) => c.notAfter.getTime())),
      );
      const pathNotBefore = new Date(
        Math.max(cert.notBefore.getTime(), ...chain.map((c) => c.notBefore.getTime())),
      );
      return new Issuer(
        signer,
        cert.subjectDer,
        cert.subjectKeyIdentifier,
        cert,
        chain.filter((c) => c.nameConstraints !== undefined),
        pathNotAfter,
        pathNotBefore,
        [cert, ...chain].filter(limitsExtendedKeyUsage),
      );
    }
    let nameDer: Buffer;
    if (init.subjectDer !== undefined) {
      nameDer = Buffer.from(init.subjectDer);
      try {
        const { node, trailing } = parseDer(nameDer);
        children(node, "Name");
        if (trailing > 0) throw new Error("trailing");
      } catch {
        throw invalidArgument("ISSUER_NAME_MALFORMED", "the issuer subject DER is not a Name");
      }
    } else if (init.subject !== undefined) {
      nameDer = subjectToDer(init.subject);
    } else {
      throw invalidArgument(
        "ISSUER_NAME_MISSING",
        "an issuer needs a certificate, subjectDer or subject",
      );
    }
    const keyId = init.subjectKeyIdentifier ?? spkiOf(signer.publicKey).keyIdentifier;
    return new Issuer(signer, nameDer, keyId, undefined);
  }

  /**
   * What the CA's own certificate allows it to sign (RFC 5280 4.2.1.9 path length, and no
   * certificate outliving its issuer). Without a certificate there is nothing to check.
   */
  assertMayIssue(notAfter: Date, isCa: boolean, pathLength: number | undefined): void {
    const cert = this.certificate;
    if (cert === undefined) return;
    const subject = `certificate_authorities/${cert.subjectString}`;
    if (notAfter > cert.notAfter) {
      throw failedPrecondition(
        "VALIDITY_EXCEEDS_ISSUER",
        `the certificate would outlive its issuer (${cert.notAfter.toISOString()}); shorten the TTL or roll the profile over to a CA that lasts longer`,
        {
          preconditions: [
            { type: "CA_VALIDITY", subject, description: "notAfter exceeds the issuer's notAfter" },
          ],
        },
      );
    }
    const budget = cert.pathLength;
    if (isCa && budget !== undefined && (budget === 0 || (pathLength ?? -1) > budget - 1)) {
      throw failedPrecondition(
        "ISSUER_PATH_LENGTH_EXCEEDED",
        `the issuer's path length constraint (${budget}) does not allow this subordinate CA${budget > 0 ? `; use pathLength ${budget - 1} or less` : ""}`,
        {
          preconditions: [
            { type: "CA_PATH_LENGTH", subject, description: `pathLenConstraint ${budget}` },
          ],
        },
      );
    }
  }
}

/**
 * RFC 5280 4.2.1.10 and 6.1.3 (b, c): every name of a certificate below a CA with
 * nameConstraints lies in its permitted and outside its excluded subtrees, for the issuing CA
 * and every CA above it (until the third stop of 2026-12-05 only the issuing CA's were checked,
 * and a CA below a constrained one, with none or wider ones of its own, issued names a
 * validator refuses); a validator would refuse anything else, so it is not signed.
 */
export function assertNamesPermitted(
  issuer: Issuer,
  subject: SubjectName,
  sans: SubjectAltNames,
  isCa = false,
): void {
  const own = issuer.certificate?.nameConstraints ? [issuer.certificate] : [];
  for (const [i, constraining] of [...own, ...issuer.constrainingAncestors].entries()) {
    const outside = namesOutside(constraining.nameConstraints!, subject, sans, isCa);
    if (outside.length > 0)
      throw outsideConstraints(constraining, outside, i === 0 && own.length > 0);
  }
}

/**
 * RFC 5280 6.1.4 (g): a subordinate CA's permitted subtrees are within those of the issuing CA
 * and of every CA above it, and none lies wholly in an excluded subtree of theirs. A validator
 * intersects them, so a wider subtree permits nothing and only misleads: the CA would be shown,
 * and its profiles written, for names every certificate under it is refused for (until stop 42
 * of 2026-12-06 a child of a CA constrained to example.com could be created permitting org).
 * INVALID_ARGUMENT (NAME_CONSTRAINTS_EXCEED_ISSUER), one field violation per subtree, naming
 * the CA whose constraints it exceeds.
 */
export function assertConstraintsWithin(
  issuer: Issuer,
  nameConstraints: NameConstraints | undefined,
  field = "name_constraints",
): void {
  if (!hasNameConstraints(nameConstraints)) return;
  const own = issuer.certificate?.nameConstraints ? [issuer.certificate] : [];
  const violations = new Map<string, ReturnType<typeof fieldViolation>>();
  for (const [i, constraining] of [...own, ...issuer.constrainingAncestors].entries()) {
    const whose =
      i === 0 && own.length > 0
        ? `the issuing CA's (${constraining.subjectString})`
        : `those of ${constraining.subjectString}, above the issuing CA`;
    for (const o of subtreesOutside(constraining.nameConstraints!, nameConstraints)) {
      const at = `${field}.${o.field}`;
      if (violations.has(at)) continue; // the nearest CA's reason is enough
      violations.set(
        at,
        fieldViolation(
          at,
          "NAME_CONSTRAINTS_EXCEED_ISSUER",
          `${quoted(o.value)} ${o.why} of ${whose} name constraints (RFC 5280 6.1.4)`,
        ),
      );
    }
  }
  if (violations.size === 0) return;
  const list = [...violations.values()];
  throw invalidArgument(
    "NAME_CONSTRAINTS_EXCEED_ISSUER",
    `the name constraints are not within those of the CAs above: ${list[0]!.field} ${list[0]!.description}${list.length > 1 ? ` (and ${list.length - 1} more)` : ""}`,
    { violations: list.slice(0, 20) },
  );
}

function outsideConstraints(
  constraining: ParsedCertificate,
  outside: string[],
  issuing: boolean,
): never {
  const ca = `certificate_authorities/${constraining.subjectString}`;
  const where = issuing
    ? "the issuing CA's name constraints"
    : `the name constraints of ${constraining.subjectString} (above the issuing CA)`;
  throw failedPrecondition(
    "ISSUER_NAME_CONSTRAINTS",
    `${where} do not permit ${outside.slice(0, 5).join(", ")}${outside.length > 5 ? ", ..." : ""}`,
    {
      preconditions: outside.slice(0, 20).map((name) => ({
        type: "CA_NAME_CONSTRAINTS",
        subject: ca,
        description: `${name} is outside the CA's permitted subtrees or inside an excluded one`,
      })),
    },
  );
}

const ANY_EXTENDED_KEY_USAGE = "2.5.29.37.0";
const EKU_BY_OID = new Map(Object.entries(EKU_OIDS).map(([name, oid]) => [oid, name]));

/** An extendedKeyUsage without anyExtendedKeyUsage (RFC 5280 4.2.1.12): it restricts. */
const limitsExtendedKeyUsage = (c: ParsedCertificate): boolean =>
  c.extendedKeyUsageOids !== undefined && !c.extendedKeyUsageOids.includes(ANY_EXTENDED_KEY_USAGE);

/**
 * A certificate's extended key usages all within the extendedKeyUsage of the issuing CA and
 * of every CA above it that carries one (anyExtendedKeyUsage in one: no limit from it). RFC
 * 5280 4.2.1.12 leaves EKU in CA certificates to applications; OpenSSL's purpose checks, Go's
 * crypto/x509 and Windows treat it as a limit on the whole path (CA/Browser Forum Baseline
 * Requirements 7.1.2.10.6 for subordinate CAs), so a serverAuth leaf under a clientAuth-only
 * CA fails every TLS client. Until stop 44 of 2026-12-06 such leaves were signed (an outside
 * CA certificate's EKU was not read). A certificate without EKU is within any (a verifier
 * uses it for the CA's purposes). FAILED_PRECONDITION ISSUER_EXTENDED_KEY_USAGE naming the
 * CA and what it allows.
 */
export function assertExtendedKeyUsagesPermitted(
  issuer: Issuer,
  extendedKeyUsages: readonly ExtendedKeyUsage[],
): void {
  if (extendedKeyUsages.length === 0) return;
  for (const limiting of issuer.extendedKeyUsageLimits) {
    const allowed = limiting.extendedKeyUsageOids!;
    const outside = extendedKeyUsages.filter((u) => !allowed.includes(EKU_OIDS[u]));
    if (outside.length === 0) continue;
    const names = allowed.map((o) => EKU_BY_OID.get(o) ?? o).join(", ") || "none";
    const whose =
      limiting === issuer.certificate
        ? `the issuing CA ${limiting.subjectString}`
        : `${limiting.subjectString}, above the issuing CA,`;
    throw failedPrecondition(
      "ISSUER_EXTENDED_KEY_USAGE",
      `${whose} allows only the extended key usages ${names}: ${outside.join(", ")} ${outside.length === 1 ? "is" : "are"} outside them, and verifiers (OpenSSL, Go, Windows) would refuse the certificate; request only ${names}, or use a profile on another CA`,
      {
        preconditions: [
          {
            type: "CA_EXTENDED_KEY_USAGE",
            subject: `certificate_authorities/${limiting.subjectString}`,
            description: `extendedKeyUsage ${names} does not include ${outside.join(", ")}`,
          },
        ],
      },
    );
  }
}

/**
 * Whether the CA may certify a delegated OCSP responder (RFC 6960 4.2.2.2, id-kp-OCSPSigning):
 * not when an extendedKeyUsage on its path leaves OCSPSigning out (assertExtendedKeyUsagesPermitted
 * would refuse it, and verifiers the responses); the CA key then signs its responses itself.
 */
export function mayCertifyResponders(issuer: Issuer): boolean {
  return issuer.extendedKeyUsageLimits.every((c) =>
    c.extendedKeyUsageOids!.includes(EKU_OIDS.OCSP_SIGNING),
  );
}

/** The CA certificate must be a CA (RFC 5280 4.2.1.9), may sign certificates (4.2.1.3), and
 * must certify the very key the signer holds. */
function assertCanIssue(signer: CaSigner, cert: ParsedCertificate): void {
  const subject = `certificate_authorities/${cert.subjectString}`;
  if (!cert.isCa) {
    throw failedPrecondition(
      "ISSUER_NOT_CA",
      `the issuer certificate ${cert.subjectString} is not a CA certificate`,
      {
        preconditions: [
          { type: "CA_CERTIFICATE", subject, description: "basicConstraints cA is not set" },
        ],
      },
    );
  }
  if (cert.keyUsages !== undefined && !cert.keyUsages.includes("KEY_CERT_SIGN")) {
    throw failedPrecondition(
      "ISSUER_CANNOT_SIGN",
      `the issuer certificate ${cert.subjectString} lacks the keyCertSign key usage`,
      {
        preconditions: [
          { type: "CA_CERTIFICATE", subject, description: "keyUsage lacks keyCertSign" },
        ],
      },
    );
  }
  if (!cert.publicKey.equals(signer.publicKey)) {
    throw failedPrecondition(
      "ISSUER_KEY_MISMATCH",
      `the CA key does not match the public key of the certificate ${cert.subjectString}`,
      {
        preconditions: [
          { type: "CA_KEY", subject, description: "signer key differs from certificate key" },
        ],
      },
    );
  }
}
