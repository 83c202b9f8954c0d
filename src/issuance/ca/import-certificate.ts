import {
  type FieldViolation,
  failedPrecondition,
  fieldViolation,
  invalidArgument,
  invalidField,
} from "../../errors";
import { type ParsedCertificate, parseCertificate } from "../../signer";
import { keyWeaknessOf } from "../../signer/parse-certificate";
import { type CallerLocks, changeTransaction } from "../access-tokens/caller";
import { updatedFields } from "../audit/changes";
import { changeRecord } from "../audit/record";
import type { Call } from "../call";
import { resolveRef } from "../common/refs";
import {
  type AuditRepository,
  type CaRepository,
  type CertificateAuthority,
  type CertificateAuthorityView,
  caView,
  type StoreWith,
} from "../repositories";
import { countedBetween, sameName } from "./explicit-policy";
import type { CaKeyring } from "./keyring";
import { caNameValueProblem, caSubjectViolations } from "./subject-check";
import type { ImportCaCertificateInput } from "./types";

export interface ImportCaCertificateDeps {
  store: StoreWith<
    CallerLocks & {
      cas: Pick<CaRepository, "find" | "update" | "withCertificates">;
      audit: Pick<AuditRepository, "insert">;
    }
  >;
  keyring: Pick<CaKeyring, "signerFor">;
  now: () => Date;
}

/**
 * ImportCertificateAuthorityCertificate: activates an external intermediate with the
 * certificate signed outside. It must certify the CA's own key, be a CA certificate, be valid
 * now, and chain through the given certificates to a self-signed trust anchor, each link
 * verified by signature and name (RFC 5280 6.1). Nothing on that path may make what certmint
 * signs under it fail path validation in OpenSSL (-x509_strict), Go or Java: an unknown
 * critical extension, a missing keyUsage or authorityKeyIdentifier, a SHA-1 or MD5
 * signature, a weak key, a chain certificate not valid now, a required explicit policy, an
 * empty or unprintable name. Until stop 44 of 2026-12-06 such certificates were adopted and
 * every leaf then failed (outside probes C F1-F5, F9 and E F10, F11).
 */
export async function importCaCertificate(
  deps: ImportCaCertificateDeps,
  call: Call,
  input: ImportCaCertificateInput,
): Promise<CertificateAuthorityView> {
  const ca = await resolveRef(input.ca, "certificate authority", "certificate_authority", (k) =>
    deps.store.cas.find(k),
  );
  requirePendingCertificate(ca);
  // 1. Both parsed (INVALID_ARGUMENT naming the field).
  const cert = parseField(input.certificatePem, "certificate_pem");
  const chain = input.chainPem.map((pem, i) => parseField(pem, `certificate_chain_pem[${i}]`));
  // 2. Every problem at once: the certificate itself, then its chain.
  const now = deps.now();
  const violations = [
    ...certificateProblems(cert, ca, deps.keyring, now),
    ...(await subjectTakenProblems(deps.store.cas, ca, cert)),
    ...chainProblems(cert, chain, now),
  ];
  if (violations.length > 0) {
    throw invalidArgument(
      "CA_CERTIFICATE_REJECTED",
      `the certificate cannot activate "${ca.slug}": ${violations.map((v) => v.description).join("; ")}`,
      { violations },
    );
  }
  // 3. Activate, unless another import got there first; the audit record commits with it (issue 6).
  await changeTransaction(deps, { call }, async (tx) => {
    const updated = await tx.cas.update(
      { id: ca.id, version: ca.version, status: "PENDING_CERTIFICATE" },
      {
        status: "ACTIVE",
        certificatePem: cert.pem,
        chainPem: chain.map((c) => c.pem),
        serialNumber: cert.serialHex,
        notBefore: cert.notBefore,
        notAfter: cert.notAfter,
        maxPathLength: effectivePathLength(cert, chain),
        subject: cert.subject ?? ca.subject,
        csrPem: null,
        version: ca.version + 1,
        updatedAt: now,
      },
    );
    if (!updated) {
      throw failedPrecondition(
        "CA_NOT_PENDING",
        `certificate authority "${ca.slug}" changed during the import; read it again`,
      );
    }
    await tx.audit.insert(
      changeRecord(
        call,
        { type: "certificate_authority", id: ca.id },
        now,
        undefined,
        updatedFields(
          { status: ca.status, serialNumber: ca.serialNumber },
          { status: "ACTIVE", serialNumber: cert.serialHex },
        ),
      ),
    );
  });
  return caView((await deps.store.cas.find({ id: ca.id })) ?? ca);
}

function requirePendingCertificate(ca: CertificateAuthority): void {
  if (ca.status === "PENDING_CERTIFICATE") return;
  throw failedPrecondition(
    "CA_NOT_PENDING",
    `certificate authority "${ca.slug}" is ${ca.status}, not waiting for a certificate`,
    {
      preconditions: [
        {
          type: "CA_STATUS",
          subject: `certificate_authorities/${ca.slug}`,
          description: `status is ${ca.status}`,
        },
      ],
    },
  );
}

const spki = (c: ParsedCertificate) => c.publicKey.export({ type: "spki", format: "der" });

/** The certificate certifies this CA's key and is a usable CA certificate, valid now. */
function certificateProblems(
  cert: ParsedCertificate,
  ca: CertificateAuthority,
  keyring: Pick<CaKeyring, "signerFor">,
  now: Date,
): FieldViolation[] {
  const out: FieldViolation[] = [];
  const flag = (reason: string, description: string) =>
    out.push(fieldViolation("certificate_pem", reason, description));
  const caKey = keyring.signerFor(ca).publicKey.export({ type: "spki", format: "der" });
  if (!spki(cert).equals(caKey)) {
    flag(
      "CERTIFICATE_KEY_MISMATCH",
      "the certificate is for another key than the one in this CA's CSR",
    );
  }
  if (!cert.isCa) flag("CERTIFICATE_NOT_CA", "basicConstraints cA is not TRUE (RFC 5280 4.2.1.9)");
  // RFC 5280 4.2.1.3: a CA certificate MUST carry keyUsage; openssl verify -x509_strict refuses
  // every chain through one without it (error 92). Until stop 44 of 2026-12-06 absence passed.
  if (cert.keyUsages === undefined) {
    flag(
      "CERTIFICATE_NO_KEY_USAGE",
      "a CA certificate must carry keyUsage with keyCertSign and cRLSign (RFC 5280 4.2.1.3); have the outside CA add it",
    );
  }
  if (cert.keyUsages && !cert.keyUsages.includes("KEY_CERT_SIGN")) {
    flag("CERTIFICATE_NO_KEY_CERT_SIGN", "keyUsage lacks keyCertSign (RFC 5280 4.2.1.3)");
  }
  // Every certificate this CA signs names its CRL; without cRLSign that CRL can never be signed,
  // so none of them could ever be revoked by CRL (until 2026-12-05 such a CA was adopted, and its
  // CRL URL answered 500: an outside lint probe).
  if (cert.keyUsages && !cert.keyUsages.includes("CRL_SIGN")) {
    flag(
      "CERTIFICATE_NO_CRL_SIGN",
      "keyUsage lacks cRLSign, so this CA could never sign the CRL its certificates point to (RFC 5280 4.2.1.3); have the outside CA add it",
    );
  }
  // RFC 5280 MUSTs of a CA certificate, which strict verifiers (openssl verify -x509_strict)
  // enforce on every chain certmint would hand out.
  if (cert.isCa && !cert.basicConstraintsCritical) {
    flag(
      "CERTIFICATE_BASIC_CONSTRAINTS_NOT_CRITICAL",
      "basicConstraints must be marked critical in a CA certificate (RFC 5280 4.2.1.9)",
    );
  }
  if (!cert.hasSubjectKeyIdentifier) {
    flag(
      "CERTIFICATE_NO_SUBJECT_KEY_IDENTIFIER",
      "a CA certificate must carry subjectKeyIdentifier (RFC 5280 4.2.1.2)",
    );
  }
  // RFC 5280 4.2.1.1: every certificate but a self-signed one MUST carry the
  // authorityKeyIdentifier's keyIdentifier; strict verifiers refuse the path without it.
  if (!isSelfSigned(cert) && cert.authorityKeyIdentifier === undefined) {
    flag(
      "CERTIFICATE_NO_AUTHORITY_KEY_IDENTIFIER",
      "a certificate signed by another CA must carry authorityKeyIdentifier with its keyIdentifier (RFC 5280 4.2.1.1)",
    );
  }
  for (const [reason, description] of pathProblems(cert, false, certificatesBelow([cert], 0)))
    flag(`CERTIFICATE_${reason}`, description);
  flagSubject(cert, flag);
  // Name constraints (RFC 5280 4.2.1.10) are read from the certificate, shown and enforced as a
  // created CA's; a subtree certmint cannot represent (a directoryName, an otherName, a minimum
  // or maximum) could not be kept to, and verifiers would refuse what it signed outside it.
  // Until stop 44 of 2026-12-06 such subtrees were skipped and the CA activated.
  const unsupported = cert.nameConstraintsUnsupported ?? [];
  if (unsupported.length > 0) {
    flag(
      "CERTIFICATE_NAME_CONSTRAINTS_UNSUPPORTED",
      `nameConstraints certmint cannot represent or enforce: ${unsupported.join("; ")} (it checks dNSName, iPAddress, rfc822Name and uniformResourceIdentifier subtrees, RFC 5280 4.2.1.10); have the outside CA leave them out`,
    );
  }
  if (cert.notBefore > now || cert.notAfter <= now) {
    flag(
      "CERTIFICATE_NOT_VALID_NOW",
      `valid from ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()}`,
    );
  }
  return out;
}

/** The chain: each certificate issued and signed by the next, ending at a self-signed anchor. */
function chainProblems(
  cert: ParsedCertificate,
  chain: ParsedCertificate[],
  now: Date,
): FieldViolation[] {
  const out: FieldViolation[] = [];
  const flag = (field: string, reason: string, description: string) =>
    out.push(fieldViolation(field, reason, description));
  if (chain.length === 0) {
    flag(
      "certificate_chain_pem",
      "CHAIN_MISSING",
      "give the issuing chain up to and including the root",
    );
  }
  const path = [cert, ...chain];
  for (let i = 1; i < path.length; i++) {
    const child = path[i - 1]!;
    const parent = path[i]!;
    const field = `certificate_chain_pem[${i - 1}]`;
    const isAnchor = i === path.length - 1;
    // A certificate given twice: a verifier builds its path once; the copies only lengthen
    // every chain certmint hands out (an outside probe gave the root three times, C F4).
    const first = path.findIndex((c) => c.der.equals(parent.der));
    if (first < i) {
      flag(
        field,
        "CHAIN_DUPLICATE",
        `the same certificate as ${first === 0 ? "certificate_pem" : `certificate_chain_pem[${first - 1}]`}; give each certificate of the chain once`,
      );
      continue;
    }
    if (!issuedBy(child, parent)) {
      flag(
        field,
        "CHAIN_BROKEN",
        `does not issue ${i === 1 ? "the certificate" : `certificate_chain_pem[${i - 2}]`} (name or signature mismatch)`,
      );
    }
    if (!parent.isCa) flag(field, "CHAIN_NOT_CA", "not a CA certificate");
    // RFC 5280 4.2.1.3 / 4.2.1.9 MUSTs of a CA certificate, which openssl verify -x509_strict
    // enforces on every certificate of the path, the self-signed root's included (errors 92,
    // 89, 86); Node's checkIssued reads a keyUsage without keyCertSign as "not the issuer",
    // which until stop 44 of 2026-12-06 was reported as a broken chain (C F5).
    if (parent.keyUsages === undefined) {
      flag(
        field,
        "CHAIN_NO_KEY_USAGE",
        "a CA certificate must carry keyUsage with keyCertSign (RFC 5280 4.2.1.3)",
      );
    } else if (!parent.keyUsages.includes("KEY_CERT_SIGN")) {
      flag(
        field,
        "CHAIN_NO_KEY_CERT_SIGN",
        "keyUsage lacks keyCertSign, so it may not sign certificates (RFC 5280 4.2.1.3)",
      );
    }
    if (parent.isCa && !parent.basicConstraintsCritical) {
      flag(
        field,
        "CHAIN_BASIC_CONSTRAINTS_NOT_CRITICAL",
        "basicConstraints must be marked critical in a CA certificate (RFC 5280 4.2.1.9)",
      );
    }
    if (!parent.hasSubjectKeyIdentifier) {
      flag(
        field,
        "CHAIN_NO_SUBJECT_KEY_IDENTIFIER",
        "a CA certificate must carry subjectKeyIdentifier (RFC 5280 4.2.1.2)",
      );
    }
    if (!isSelfSigned(parent) && parent.authorityKeyIdentifier === undefined) {
      flag(
        field,
        "CHAIN_NO_AUTHORITY_KEY_IDENTIFIER",
        "a certificate signed by another CA must carry authorityKeyIdentifier with its keyIdentifier (RFC 5280 4.2.1.1)",
      );
    }
    // pathLenConstraint: at most that many CAs may follow it (RFC 5280 4.2.1.9).
    if (parent.pathLength !== undefined && parent.pathLength < i) {
      flag(
        field,
        "CHAIN_PATH_LENGTH_EXCEEDED",
        `pathLenConstraint ${parent.pathLength} allows fewer CAs below it`,
      );
    }
    // RFC 5280 6.1.3 (a)(2): every certificate of the path valid at the time of validation;
    // certmint signs "now", so a chain certificate that starts later fails every leaf until
    // then (C F2).
    if (parent.notBefore > now) {
      flag(field, "CHAIN_NOT_YET_VALID", `not valid before ${parent.notBefore.toISOString()}`);
    }
    if (parent.notAfter <= now) {
      flag(field, "CHAIN_EXPIRED", `expired at ${parent.notAfter.toISOString()}`);
    }
    // Constraints of a CA above bind what this CA signs as well (issuer.ts constrainingAncestors).
    const unsupported = parent.nameConstraintsUnsupported ?? [];
    if (unsupported.length > 0) {
      flag(
        field,
        "CHAIN_NAME_CONSTRAINTS_UNSUPPORTED",
        `nameConstraints certmint cannot represent or enforce: ${unsupported.join("; ")} (RFC 5280 4.2.1.10)`,
      );
    }
    // The trust anchor's own signature is not verified by anyone (RFC 5280 6.1: it is an
    // input), nor its policyConstraints processed (OpenSSL, Go and Java start policy
    // processing below it): those two are not held against it.
    const anchorSelfSigned = isAnchor && isSelfSigned(parent);
    for (const [reason, description] of pathProblems(
      parent,
      anchorSelfSigned,
      certificatesBelow(path, i),
    )) {
      flag(field, `CHAIN_${reason}`, description);
    }
  }
  const anchor = path.at(-1)!;
  if (chain.length > 0 && !isSelfSigned(anchor)) {
    flag(
      `certificate_chain_pem[${chain.length - 1}]`,
      "CHAIN_NO_TRUST_ANCHOR",
      "the last certificate must be the self-signed root",
    );
  }
  return out;
}

/** Whether `parent` may sign certificates by its keyUsage (absent: no limit, RFC 5280 4.2.1.3). */
const maySignCertificates = (c: ParsedCertificate) =>
  c.keyUsages === undefined || c.keyUsages.includes("KEY_CERT_SIGN");

/**
 * Whether `parent` signed `child`: the signature verifies with its key, and the names (and key
 * identifiers) link as OpenSSL's X509_check_issued links them. That check also says no for an
 * issuer whose keyUsage lacks keyCertSign; such a link is judged by signature and name alone,
 * so the refusal names the keyUsage (CHAIN_NO_KEY_CERT_SIGN), not a broken chain.
 */
function issuedBy(child: ParsedCertificate, parent: ParsedCertificate): boolean {
  if (!child.x509.verify(parent.publicKey)) return false;
  return maySignCertificates(parent)
    ? child.x509.checkIssued(parent.x509)
    : child.issuerDer.equals(parent.subjectDer);
}

const isSelfSigned = (c: ParsedCertificate) => issuedBy(c, c);

/**
 * Critical extensions (RFC 5280 4.2: a validator MUST reject a certificate with a critical
 * extension it does not recognise) that OpenSSL, Go and Java all process, and that certmint
 * either reads and keeps to or that restrict nothing it signs:
 * - basicConstraints, keyUsage: read and checked here, pathLenConstraint kept to (issuer.ts);
 * - nameConstraints: read and enforced on every name certmint signs below (issuer.ts), the
 *   forms it cannot enforce refused above;
 * - extendedKeyUsage: read, and every certificate certmint signs below kept within it
 *   (issuer.ts assertExtendedKeyUsagesPermitted);
 * - subjectAltName: names the CA itself (critical when its subject is empty, 4.2.1.6); limits
 *   nothing below it;
 * - certificatePolicies, policyMappings, inhibitAnyPolicy, policyConstraints: only policy
 *   processing (6.1.3 (d)-(f), 6.1.4 (a)-(b), (i)-(j)); certmint's certificates carry no
 *   policies, and without a required explicit policy (refused below) a path whose policy tree
 *   ends empty is valid (6.1.5 (g)). RFC 5280 has policyConstraints and inhibitAnyPolicy MUST
 *   be critical, policyMappings SHOULD.
 * Anything else critical is refused: certmint would not keep to it, and verifiers refuse the
 * certificate (OpenSSL error 34, Go "unhandled critical extension", Java UNRECOGNIZED_CRIT_EXT);
 * that includes a critical subjectKeyIdentifier, authorityKeyIdentifier, authorityInfoAccess or
 * cRLDistributionPoints, which RFC 5280 has non-critical and OpenSSL or Java do not accept
 * critical.
 */
const RECOGNISED_CRITICAL = new Set([
  "2.5.29.19", // basicConstraints
  "2.5.29.15", // keyUsage
  "2.5.29.30", // nameConstraints
  "2.5.29.37", // extendedKeyUsage
  "2.5.29.17", // subjectAltName
  "2.5.29.32", // certificatePolicies
  "2.5.29.33", // policyMappings
  "2.5.29.36", // policyConstraints
  "2.5.29.54", // inhibitAnyPolicy
]);
const EXTENSION_NAMES: Record<string, string> = {
  "2.5.29.14": "subjectKeyIdentifier",
  "2.5.29.35": "authorityKeyIdentifier",
  "2.5.29.31": "cRLDistributionPoints",
  "1.3.6.1.5.5.7.1.1": "authorityInfoAccess",
  "2.16.840.1.113730.1.1": "netscapeCertType",
  "1.3.6.1.5.5.7.1.7": "ipAddrBlocks",
  "1.3.6.1.5.5.7.1.8": "autonomousSysIds",
};

/**
 * How many certificates lie below path[index] ([imported certificate, ...its chain]) down to
 * the deepest certmint may sign under the imported CA: those between that RFC 5280 6.1.4 (h)
 * counts (not self-issued), the sub-CAs the imported CA's path length allows (RFC 5280
 * 4.2.1.9, 6.1.4 (l)-(m): its own pathLenConstraint and the chain's), and a leaf. Without a
 * path length only its leaves count here: certmint holds its key, and each CA it creates or
 * certificate it signs below it is judged as it is signed (explicit-policy.ts).
 */
function certificatesBelow(path: ParsedCertificate[], index: number): number {
  return countedBetween(path, index) + (effectivePathLength(path[0]!, path.slice(1)) ?? 0) + 1;
}

/**
 * What of a certificate on the path makes verifiers refuse everything below it, as [reason
 * suffix, description]: an unknown critical extension, a weak signature or key, a required
 * explicit policy. `anchor`: a self-signed trust anchor (its own signature and
 * policyConstraints are not processed by a verifier).
 */
function pathProblems(
  c: ParsedCertificate,
  anchor: boolean,
  below: number,
): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const unknown = c.criticalExtensions.filter((o) => !RECOGNISED_CRITICAL.has(o));
  if (unknown.length > 0) {
    const names = unknown.map((o) => (EXTENSION_NAMES[o] ? `${EXTENSION_NAMES[o]} (${o})` : o));
    out.push([
      "CRITICAL_EXTENSION_UNKNOWN",
      `critical extension${unknown.length > 1 ? "s" : ""} ${names.join(", ")} that certmint does not keep to and verifiers refuse (RFC 5280 4.2); have the outside CA leave ${unknown.length > 1 ? "them" : "it"} out or mark ${unknown.length > 1 ? "them" : "it"} non-critical`,
    ]);
  }
  // SHA-1 and MD5 signatures: collisions are practical (SHAttered, 2017), and Go, browsers and
  // OpenSSL from security level 1 (its TLS default) refuse them in a path (error 68).
  if (c.weakSignatureAlgorithm && !anchor) {
    out.push([
      "SIGNATURE_WEAK",
      `signed with ${c.weakSignatureAlgorithm}, which verifiers refuse; have it signed with SHA-256 or better`,
    ]);
  }
  // The floor certmint holds every key it certifies to (CSRs, imported keys), here for keys
  // that every chain it hands out would carry (OpenSSL security level 2: error 67, C F3).
  const weak = keyWeaknessOf(c);
  if (weak) out.push(["KEY_TOO_WEAK", `its key is too weak: ${weak}`]);
  // RFC 5280 4.2.1.11, 6.1.4 (h)-(i), 6.1.5 (a), (g): requireExplicitPolicy k in a certificate
  // with `below` certificates under it down to the deepest certmint may sign makes the path need
  // a policy in every certificate when k <= below; certmint's certificates carry no
  // certificatePolicies, so every one it signed there would fail Go, Java and openssl
  // -policy_check (E F10). A larger k skips them: until an outside probe of stop 44's fixes any
  // k was refused, also a pathLen-0 CA's requireExplicitPolicy 10 that verifiers accept. The
  // CAs and certificates certmint signs further down are judged as they are signed
  // (explicit-policy.ts; until stop 45 of 2026-12-06 they were not).
  const k = c.policyConstraints?.requireExplicitPolicy;
  if (k !== undefined && k <= below && !anchor) {
    out.push([
      "EXPLICIT_POLICY_REQUIRED",
      `policyConstraints requireExplicitPolicy ${k}: every certificate below would need certificatePolicies, which certmint does not put in what it signs (RFC 5280 4.2.1.11, 6.1.5); have the outside CA leave requireExplicitPolicy out`,
    ]);
  }
  return out;
}

/**
 * The subject every certificate this CA signs carries as its issuer: non-empty (RFC 5280
 * 4.1.2.6: a CA's subject MUST be), and held to the rules certmint's own CA subjects are
 * (checkCaSubject: no control characters, line or paragraph separators or edge white space,
 * which would inject lines into every display and log of it; C F9).
 */
function flagSubject(
  cert: ParsedCertificate,
  flag: (reason: string, description: string) => void,
): void {
  const values = cert.subjectValues;
  if (values === undefined) {
    flag(
      "CERTIFICATE_SUBJECT_INVALID",
      "the subject holds a value that is not text (a NUL, invalid UTF-8, or not a string type)",
    );
    return;
  }
  if (values.length === 0) {
    flag(
      "CERTIFICATE_SUBJECT_EMPTY",
      "the subject is empty, and every certificate this CA signed would carry an empty issuer name (RFC 5280 4.1.2.6: a CA's subject MUST be non-empty)",
    );
    return;
  }
  if (cert.subject !== undefined) {
    for (const v of caSubjectViolations(cert.subject, "subject")) {
      flag("CERTIFICATE_SUBJECT_INVALID", `${v.field}: ${v.description}`);
    }
    return;
  }
  // Attributes certmint has no SubjectName form for (DC, multi-valued RDNs): their text.
  for (const value of values) {
    const problem = caNameValueProblem(value);
    if (problem)
      flag("CERTIFICATE_SUBJECT_INVALID", `subject value ${JSON.stringify(value)} ${problem}`);
  }
}

/**
 * RFC 5280 4.1.2.6: a DN MUST be unique for each subject entity one CA certifies. Another
 * certmint CA, with another key, whose certificate has the same issuer and the same subject
 * (compared as RFC 5280 7.1 compares names, as new-ca.ts does for the CAs certmint creates)
 * would leave relying parties that look issuers up by name (certificate stores, CRL caches)
 * to pick the wrong one for everything both sign.
 */
async function subjectTakenProblems(
  cas: Pick<CaRepository, "find" | "withCertificates">,
  ca: CertificateAuthority,
  cert: ParsedCertificate,
): Promise<FieldViolation[]> {
  const key = spki(cert);
  for (const other of await cas.withCertificates()) {
    if (other.id === ca.id || !other.certificatePem) continue;
    let theirs: ParsedCertificate;
    try {
      theirs = parseCertificate(other.certificatePem);
    } catch {
      continue;
    }
    if (
      !sameName(theirs.issuerDer, cert.issuerDer) ||
      !sameName(theirs.subjectDer, cert.subjectDer) ||
      spki(theirs).equals(key)
    ) {
      continue;
    }
    const slug = (await cas.find({ id: other.id }))?.slug ?? other.id;
    return [
      fieldViolation(
        "certificate_pem",
        "CERTIFICATE_SUBJECT_TAKEN",
        `certificate authority "${slug}" has this subject name already, with another key, under the same issuer: a CA's name must be unique among the CAs its issuer certifies (RFC 5280 4.1.2.6); have the outside CA certify another name`,
      ),
    ];
  }
  return [];
}

/**
 * The path length this CA may still allow below it: its own pathLenConstraint, and every limit
 * above it minus the CAs in between (RFC 5280 6.1.4 (l)-(m)), so certmint never signs a sub-CA
 * that a verifier would reject.
 */
function effectivePathLength(cert: ParsedCertificate, chain: ParsedCertificate[]): number | null {
  const limits = [
    cert.pathLength,
    ...chain.map((c, i) => (c.pathLength === undefined ? undefined : c.pathLength - (i + 1))),
  ];
  const known = limits.filter((l): l is number => l !== undefined);
  return known.length ? Math.max(0, Math.min(...known)) : null;
}

/** A PEM certificate of the request, refused (INVALID_ARGUMENT on `field`) when unreadable. */
function parseField(pem: string, field: string): ParsedCertificate {
  let cert: ParsedCertificate;
  try {
    cert = parseCertificate(pem);
  } catch (err) {
    const why = err instanceof Error ? err.message : "not a certificate";
    throw invalidField(
      "CERTIFICATE_MALFORMED",
      `${field} is not a PEM certificate: ${why}`,
      field,
      why,
    );
  }
  // A key in a non-RFC form (explicit EC parameters, RFC 5480 2.1.1) would be served in every
  // chain this CA hands out, and verifiers such as Go's crypto/x509 refuse it.
  const problem = cert.keyEncodingProblem;
  if (problem) {
    const reason = `CERTIFICATE_KEY_${problem.problem}`;
    throw invalidField(reason, `${field} is refused: ${problem.message}`, field, problem.message);
  }
  return cert;
}
