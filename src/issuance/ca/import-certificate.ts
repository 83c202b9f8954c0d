import {
  type FieldViolation,
  failedPrecondition,
  fieldViolation,
  invalidArgument,
  invalidField,
} from "../../errors";
import { type ParsedCertificate, parseCertificate } from "../../signer";
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
import type { CaKeyring } from "./keyring";
import type { ImportCaCertificateInput } from "./types";

export interface ImportCaCertificateDeps {
  store: StoreWith<{
    cas: Pick<CaRepository, "find" | "update">;
    audit: Pick<AuditRepository, "insert">;
  }>;
  keyring: Pick<CaKeyring, "signerFor">;
  now: () => Date;
}

/**
 * ImportCertificateAuthorityCertificate: activates an external intermediate with the
 * certificate signed outside. It must certify the CA's own key, be a CA certificate, be valid
 * now, and chain through the given certificates to a self-signed trust anchor, each link
 * verified by signature and name (RFC 5280 6.1).
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
  await deps.store.transaction(async (tx) => {
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
    // X509Certificate.checkIssued(other): "was this certificate issued by other".
    if (!child.x509.checkIssued(parent.x509) || !child.x509.verify(parent.publicKey)) {
      flag(
        field,
        "CHAIN_BROKEN",
        `does not issue ${i === 1 ? "the certificate" : `certificate_chain_pem[${i - 2}]`} (name or signature mismatch)`,
      );
    }
    if (!parent.isCa) flag(field, "CHAIN_NOT_CA", "not a CA certificate");
    // pathLenConstraint: at most that many CA certificates may follow it (RFC 5280 4.2.1.9).
    if (parent.pathLength !== undefined && parent.pathLength < i) {
      flag(
        field,
        "CHAIN_PATH_LENGTH_EXCEEDED",
        `pathLenConstraint ${parent.pathLength} allows fewer CAs below it`,
      );
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
  }
  const anchor = path.at(-1)!;
  if (
    chain.length > 0 &&
    !(anchor.x509.checkIssued(anchor.x509) && anchor.x509.verify(anchor.publicKey))
  ) {
    flag(
      `certificate_chain_pem[${chain.length - 1}]`,
      "CHAIN_NO_TRUST_ANCHOR",
      "the last certificate must be the self-signed root",
    );
  }
  return out;
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
