/**
 * What cert issue, cert renew and request status print for an issued certificate (the files
 * written, never the key), a request waiting for approval, or a dry run.
 */
import { X509Certificate } from "node:crypto";
import {
  CertificateRequestStatus,
  type IssuedCertificate,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { CliError } from "../command";
import { REQUEST_STATUS } from "../enums";
import type { Invocation } from "../invocation";
import { bundle, type OutputPaths, type WrittenFiles, writeIssued } from "../options/issued-files";
import { type Field, renderFields, renderJson } from "../output";
import { formatTime } from "../values";
import { joinPem } from "./print";

export interface IssueOutcome {
  certificateRequestId: string;
  status: number;
  certificate?: IssuedCertificate | undefined;
  privateKeyPem: string;
}

function certificateFields(cert: IssuedCertificate): Field[] {
  const x = new X509Certificate(cert.certificatePem);
  return [
    ["certificate id", cert.certificateId],
    ["serial", cert.serialNumber],
    // Node leaves subject undefined for an empty name (a certificate identified by its SANs).
    ["subject", (x.subject ?? "").split("\n").join(", ")],
    ["names", x.subjectAltName ?? ""],
    ["issuer", (x.issuer ?? "").split("\n").join(", ")],
    ["not before", formatTime(cert.notBefore)],
    ["not after", formatTime(cert.notAfter)],
  ];
}

const FILE_LABELS = {
  certificate: "certificate file",
  chain: "chain file",
  privateKey: "private key file",
} as const;

/** Where to write an issued certificate, and what to tell the user if that fails after issuance. */
export interface FilePlan {
  paths(cert: IssuedCertificate): OutputPaths;
  /** How to get the same certificate (and key) again, e.g. "repeat with --request-id X". */
  recovery: string;
}

function write(inv: Invocation, outcome: IssueOutcome, cert: IssuedCertificate, plan: FilePlan) {
  try {
    return writeIssued(inv, cert, outcome.privateKeyPem, plan.paths(cert));
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    throw new CliError(
      `${err.message}\n  the certificate was issued (request ${outcome.certificateRequestId}): ${plan.recovery}`,
    );
  }
}

/**
 * Prints the outcome; writes the files when there is a certificate and a plan.
 * `json()` is the response's JSON with the private key left out.
 */
export function reportIssued(
  inv: Invocation,
  outcome: IssueOutcome,
  json: () => unknown,
  plan: FilePlan | undefined,
): void {
  const cert = outcome.certificate;
  const written = cert && plan ? write(inv, outcome, cert, plan) : { files: [] as WrittenFiles };
  if (inv.output === "json") {
    const out = json() as Record<string, unknown>;
    inv.print(
      renderJson(
        written.files.length > 0 ? { ...out, files: Object.fromEntries(written.files) } : out,
      ),
    );
  } else if (inv.output === "pem" && cert) {
    inv.print(inv.args.flag("bundle") ? bundle(cert) : joinPem([cert.certificatePem]));
  } else if (inv.output === "pem") {
    inv.note("no certificate yet: nothing to print as PEM");
  } else {
    inv.print(
      renderFields([
        ["request", outcome.certificateRequestId],
        ["status", REQUEST_STATUS.name(outcome.status)],
        ...(cert ? certificateFields(cert) : []),
        ...written.files.map(([what, path]): Field => [FILE_LABELS[what], path]),
      ]),
    );
  }
  if (written.keyForStdout) inv.print(written.keyForStdout);
  if (outcome.status === CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL) {
    inv.note(
      `waiting for approval: once approved, 'certmint request status ${outcome.certificateRequestId}' ` +
        "writes the certificate (and a key certmint generated)",
    );
  } else if (outcome.status === CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_UNSPECIFIED) {
    inv.note("validate only: every check passed; nothing was signed or stored");
  }
}
