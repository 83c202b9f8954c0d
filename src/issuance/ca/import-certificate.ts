import type { EntityManager } from "@mikro-orm/postgresql";
import {
  type FieldViolation,
  failedPrecondition,
  fieldViolation,
  invalidArgument,
  invalidField,
} from "../../errors";
import { type ParsedCertificate, parseCertificate } from "../../signer";
import { CertificateAuthorityEntity, type CertificateAuthorityRow } from "../../store/entities";
import { recordAudit } from "../audit/record";
import { findByRef } from "../common/refs";
import type { CaDeps, ImportCaCertificateInput } from "./types";

const spki = (c: ParsedCertificate) => c.publicKey.export({ type: "spki", format: "der" });

/**
 * Activates an external intermediate with the certificate signed outside. It must certify the
 * CA's own key, be a CA certificate, be valid now, and chain through the given certificates
 * to a self-signed trust anchor, each link verified by signature and name (RFC 5280 6.1).
 */
export async function importCaCertificate(
  deps: CaDeps,
  input: ImportCaCertificateInput,
): Promise<CertificateAuthorityRow> {
  const em = deps.orm.em.fork();
  const ca = await findByRef(
    em,
    CertificateAuthorityEntity,
    input.ca,
    "certificate authority",
    "certificate_authority",
  );
  if (ca.status !== "PENDING_CERTIFICATE") {
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
  const cert = parseField(input.certificatePem, "certificate_pem");
  const chain = input.chainPem.map((pem, i) => parseField(pem, `certificate_chain_pem[${i}]`));
  const now = deps.now();
  const violations: FieldViolation[] = [];
  const flag = (field: string, reason: string, description: string) =>
    violations.push(fieldViolation(field, reason, description));

  // 1. The certificate certifies this CA's key and is a usable CA certificate.
  if (
    !spki(cert).equals(deps.keyring.signerFor(ca).publicKey.export({ type: "spki", format: "der" }))
  ) {
    flag(
      "certificate_pem",
      "CERTIFICATE_KEY_MISMATCH",
      "the certificate is for another key than the one in this CA's CSR",
    );
  }
  if (!cert.isCa)
    flag(
      "certificate_pem",
      "CERTIFICATE_NOT_CA",
      "basicConstraints cA is not TRUE (RFC 5280 4.2.1.9)",
    );
  if (cert.keyUsages && !cert.keyUsages.includes("KEY_CERT_SIGN")) {
    flag(
      "certificate_pem",
      "CERTIFICATE_NO_KEY_CERT_SIGN",
      "keyUsage lacks keyCertSign (RFC 5280 4.2.1.3)",
    );
  }
  if (cert.notBefore > now || cert.notAfter <= now) {
    flag(
      "certificate_pem",
      "CERTIFICATE_NOT_VALID_NOW",
      `valid from ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()}`,
    );
  }
  // 2. The chain: each certificate issued and signed by the next, ending at a self-signed anchor.
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
    if (parent.notAfter <= now)
      flag(field, "CHAIN_EXPIRED", `expired at ${parent.notAfter.toISOString()}`);
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
  if (violations.length > 0) {
    throw invalidArgument(
      "CA_CERTIFICATE_REJECTED",
      `the certificate cannot activate "${ca.slug}": ${violations.map((v) => v.description).join("; ")}`,
      { violations },
    );
  }
  // 3. Activate, unless another import got there first; the audit record commits with it (issue 6).
  await em.transactional(async (tx: EntityManager) => {
    const updated = await tx.nativeUpdate(
      CertificateAuthorityEntity,
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
    if (updated === 0)
      throw failedPrecondition(
        "CA_NOT_PENDING",
        `certificate authority "${ca.slug}" changed during the import; read it again`,
      );
    await recordAudit(tx, { type: "certificate_authority", id: ca.id }, now);
  });
  await em.refresh(ca);
  return ca;
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
