/**
 * requireExplicitPolicy (RFC 5280 4.2.1.11) on a CA's path, and how deep below the CA a
 * certificate may lie before it is reached.
 *
 * Policy processing (RFC 5280 6.1): a certificate with policyConstraints requireExplicitPolicy k
 * sets explicit_policy to k (6.1.4 (i)); every certificate below it that is not self-issued
 * takes one off (6.1.4 (h), and 6.1.5 (a) for the last one); once it is 0 the path fails
 * unless the valid_policy_tree is non-NULL (6.1.3 (f), 6.1.5 (g)). certmint puts no
 * certificatePolicies in what it signs, so the tree is NULL from the first certificate it
 * signs (6.1.3 (e)), and a path fails when its last certificate lies k or more certificates
 * below the constraining one. The trust anchor's own policyConstraints are not processed
 * (6.1: the anchor is an input; OpenSSL, Go and Java start below it).
 *
 * Import refuses an outside CA whose constraint reaches the certificates certmint may sign
 * below it by its pathLenConstraint (import-certificate.ts). Below an imported CA without one,
 * certmint decides each CA it creates (create-intermediate.ts) and each certificate it signs
 * (certificates/check.ts) with this module: until stop 45 of 2026-12-06 only the imported CA's
 * direct leaves were judged, and a sub-CA two levels down was created whose leaves no
 * verifier that processes policies (openssl -policy_check, Go, Java) accepted.
 */
import { failedPrecondition } from "../../errors";
import { type ParsedCertificate, parseCertificate, sameDistinguishedName } from "../../signer";
import { type Asn1, parseDer } from "../../signer/der";
import { subjectFromAsn1 } from "../../signer/name";
import type { CertificateAuthority } from "../repositories";

/** A requireExplicitPolicy on a CA's path, as seen from that CA. */
export interface ExplicitPolicyLimit {
  /** The constraining certificate's subject, as a refusal names it. */
  subject: string;
  /** Its requireExplicitPolicy (SkipCerts). */
  k: number;
  /** Whether it is the CA's own certificate rather than one of its chain. */
  own: boolean;
  /**
   * How many levels below the CA a certificate may lie and still end a valid path: a
   * certificate the CA signs is 1 below it, a leaf of a sub-CA 2. k minus the certificates
   * counted (not self-issued) from the constraining one down to the CA's own, minus 1.
   */
  room: number;
}

/** Two Name DERs equal as RFC 5280 7.1 compares names (sameDistinguishedName), else bytewise. */
export function sameName(a: Buffer, b: Buffer): boolean {
  if (a.equals(b)) return true;
  try {
    const [x, y] = [a, b].map((d) => subjectFromAsn1(parseDer(d).node as Asn1));
    return sameDistinguishedName(x!, y!);
  } catch {
    return false;
  }
}

/** RFC 5280 6.1: self-issued when its issuer and subject are the same name (7.1). */
const selfIssued = (c: ParsedCertificate) => sameName(c.issuerDer, c.subjectDer);

/**
 * The certificates 6.1.4 (h) counts from path[index] down to path[0] (path[index] excluded,
 * path[0] included): those in between that are not self-issued.
 */
export function countedBetween(path: ParsedCertificate[], index: number): number {
  return path.slice(0, index).filter((c) => !selfIssued(c)).length;
}

/**
 * Every requireExplicitPolicy on `path` ([the CA's certificate, ...its chain up to the
 * anchor]), but the anchor's (its last certificate when self-issued), with the room it leaves.
 */
export function explicitPolicyLimits(path: ParsedCertificate[]): ExplicitPolicyLimit[] {
  const out: ExplicitPolicyLimit[] = [];
  path.forEach((c, i) => {
    const k = c.policyConstraints?.requireExplicitPolicy;
    if (k === undefined || (i === path.length - 1 && selfIssued(c))) return;
    out.push({ subject: c.subjectString, k, own: i === 0, room: k - countedBetween(path, i) - 1 });
  });
  return out;
}

/** By CA id and serial: a certificate never changes, so neither does its path's limits. */
const cache = new Map<string, ExplicitPolicyLimit | null>();

/** The limit on a CA's path that leaves the least room; undefined when there is none. */
export function tightestExplicitPolicyLimit(
  ca: Pick<CertificateAuthority, "id" | "serialNumber" | "certificatePem" | "chainPem">,
): ExplicitPolicyLimit | undefined {
  if (!ca.certificatePem) return undefined;
  const key = `${ca.id}:${ca.serialNumber}`;
  let limit = cache.get(key);
  if (limit === undefined) {
    const path = [ca.certificatePem, ...ca.chainPem].map((p) => parseCertificate(p));
    limit =
      explicitPolicyLimits(path).reduce<ExplicitPolicyLimit | null>(
        (a, b) => (a === null || b.room < a.room ? b : a),
        null,
      ) ?? null;
    cache.set(key, limit);
  }
  return limit ?? undefined;
}

/** What the CA is about to sign. */
export type Signed =
  | { kind: "leaf" }
  | {
      kind: "ca";
      /** Its pathLenConstraint, after its issuer's (undefined: none). */
      pathLength: number | undefined;
      /**
       * Whether certmint holds its key and so decides each certificate it signs later
       * (CreateIntermediate): then only its own leaves are judged now. A CA certificate issued
       * through a profile signs outside certmint, down to its path length: without one, any
       * depth, which some requireExplicitPolicy above always reaches.
       */
      certmintSigns: boolean;
    };

/**
 * Refuses (FAILED_PRECONDITION EXPLICIT_POLICY_REQUIRED) a certificate the CA would sign
 * that some requireExplicitPolicy on its path reaches, with what it signs below: a leaf 1 below
 * the CA; a sub-CA's leaves 2 below it, and down to its path length below that.
 */
export function assertWithinExplicitPolicy(
  ca: Pick<
    CertificateAuthority,
    "id" | "slug" | "serialNumber" | "certificatePem" | "chainPem" | "maxPathLength"
  >,
  signed: Signed,
  /** How the refusal names the path length the caller may set. */
  pathLengthField = "path length",
): void {
  const limit = tightestExplicitPolicyLimit(ca);
  if (!limit) return;
  const where = limit.own
    ? `its own certificate ("${limit.subject}")`
    : `the CA "${limit.subject}" above it`;
  const rule = `policyConstraints requireExplicitPolicy ${limit.k} of ${where} requires a certificate policy in every path that reaches ${limit.k} certificates below it (RFC 5280 4.2.1.11, 6.1.5 (g)), and certmint puts no certificatePolicies in what it signs`;
  const fix = `have the outside CA raise requireExplicitPolicy or leave it out (then import a new certificate under a new CA)`;
  const refuse = (message: string, description: string) => {
    throw failedPrecondition("EXPLICIT_POLICY_REQUIRED", message, {
      preconditions: [
        { type: "CA_EXPLICIT_POLICY", subject: `certificate_authorities/${ca.slug}`, description },
      ],
    });
  };
  const description = `requireExplicitPolicy ${limit.k} in "${limit.subject}" leaves ${Math.max(0, limit.room)} level(s) below this CA`;
  if (signed.kind === "leaf") {
    if (limit.room >= 1) return;
    refuse(
      `certificate authority "${ca.slug}" signs nothing a verifier accepts: ${rule}, and a certificate it signs would lie ${limit.k - limit.room} below it; issue from a CA higher up that chain, or ${fix}`,
      description,
    );
    return;
  }
  // The sub-CA's own sub-CAs: its path length, within what the issuing CA's allows (RFC 5280
  // 6.1.4 (l)-(m)); then its deepest leaf lies that many + 2 below the issuing CA.
  const budget = ca.maxPathLength === null ? undefined : ca.maxPathLength - 1;
  const own = signed.pathLength ?? (signed.certmintSigns ? 0 : undefined);
  const levels = own === undefined ? budget : budget === undefined ? own : Math.min(own, budget);
  if (levels !== undefined && levels + 2 <= limit.room) return;
  if (limit.room < 2) {
    refuse(
      `certificate authority "${ca.slug}" cannot sign a CA certificate: ${rule}, and the certificates a CA it certified signs would lie ${limit.k - limit.room + 1} below it; issue leaves from "${ca.slug}" itself, or ${fix}`,
      description,
    );
  }
  const most = limit.room - 2;
  refuse(
    levels === undefined
      ? `the CA certificate "${ca.slug}" would sign has no path length, so what it signs could lie any number of certificates below "${limit.subject}": ${rule}; give it a ${pathLengthField} of at most ${most}`
      : `a CA certificate signed by "${ca.slug}" with path length ${levels} would have certificates ${limit.k - limit.room + levels + 1} below "${limit.subject}": ${rule}; give it a ${pathLengthField} of at most ${most}`,
    description,
  );
}
