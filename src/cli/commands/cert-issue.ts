/** cert issue | renew: a certificate into files. */
import { randomUUID } from "node:crypto";
import {
  IssueCertificateRequest,
  IssueCertificateResponse,
  type IssuedCertificate,
  RenewalKeySource,
  RenewCertificateRequest,
  RenewCertificateResponse,
} from "../../../gen/ts/certmint/v1/certificate_service";
import type { Args } from "../args";
import { type CommandSpec, type OptionSection, UsageError } from "../command";
import { EXTENDED_KEY_USAGE, KEY_USAGE, RENEWAL_KEY_SOURCE } from "../enums";
import { readInput } from "../files";
import {
  keyAlgorithmOption,
  readKeyAlgorithm,
  readSignatureAlgorithm,
  signatureAlgorithmOption,
} from "../options/algorithms";
import {
  baseFromCertificate,
  baseFromCsrFile,
  checkNamedOutputs,
  checkOutputs,
  FILES_SECTION,
  fileBase,
  outputPaths,
} from "../options/issued-files";
import { readSans, readSubject, SAN_OPTIONS, subjectOptions } from "../options/subject";
import { parseDuration, parseInteger } from "../values";
import { reportIssued } from "../views/issued";

const REQUEST_SECTION: OptionSection = {
  title: "Request",
  specs: {
    ttl: {
      type: "string",
      value: "DURATION",
      description: "lifetime, e.g. 7d (default: the profile's; never more than the policy's max)",
    },
    "request-id": {
      type: "string",
      value: "ID",
      description:
        "idempotency key: repeating the command with it returns the same certificate (and key), never a second one",
    },
    "validate-only": { type: "boolean", description: "run every check; sign and store nothing" },
  },
};

const ttlOf = (a: Args) => {
  const v = a.string("ttl");
  return v === undefined ? undefined : parseDuration(v, "ttl");
};

/** The default file name of a certificate certmint makes a key for: its CN, else its first SAN. */
function baseFromRequest(a: Args): string {
  const first = [a.string("cn"), ...["dns", "ip", "email", "uri"].map((f) => a.strings(f)[0])].find(
    Boolean,
  );
  return fileBase(first ?? "certificate");
}

const retryHint = (requestId: string) =>
  `repeat the command with --request-id ${requestId} (and --force, or other file names) within 60 minutes for the same certificate and key`;

const IDENTITY_FLAGS = [
  ...Object.keys(subjectOptions()),
  ...Object.keys(SAN_OPTIONS),
  "key-algorithm",
];

export const certIssue: CommandSpec = {
  name: "issue",
  summary: "issue a certificate under a profile, from a CSR or for a key certmint generates",
  description:
    "With --csr, the CSR's subject, names and key are certified and you keep the key. Without, " +
    "certmint generates the key pair for the subject and names given, and the private key is " +
    "written to a file with mode 0600 (never printed unless --key-out - asks for it). The " +
    "certificate, its chain and the key are written to files; existing files are kept unless " +
    "--force. A profile that requires approval answers with a request id instead.",
  options: [
    {
      title: "Profile and source",
      specs: {
        profile: {
          type: "string",
          value: "PROFILE",
          description: "the profile, by id or slug (required)",
        },
        csr: {
          type: "string",
          value: "FILE",
          description: "a PKCS #10 CSR (PEM; '-' reads stdin)",
        },
        "key-algorithm": keyAlgorithmOption(
          "without --csr: the algorithm of the key certmint generates (default: the profile's)",
        ),
      },
    },
    { title: "Subject, without --csr", specs: subjectOptions() },
    { title: "Subject alternative names, without --csr", specs: SAN_OPTIONS },
    {
      title: "Usages and signature",
      specs: {
        "key-usage": {
          type: "string",
          value: "USAGE",
          multiple: true,
          description: "keyUsage (default: the profile's)",
          choices: KEY_USAGE.choices,
        },
        eku: {
          type: "string",
          value: "USAGE",
          multiple: true,
          description: "extKeyUsage (default: the profile's)",
          choices: EXTENDED_KEY_USAGE.choices,
        },
        "signature-algorithm": signatureAlgorithmOption(
          "what the CA signs with (default: the profile's)",
        ),
        "ca-certificate": {
          type: "boolean",
          description: "ask for a CA certificate (the policy must allow it)",
        },
        "max-path-length": {
          type: "string",
          value: "N",
          description: "with --ca-certificate: its pathLenConstraint",
        },
      },
    },
    REQUEST_SECTION,
    FILES_SECTION,
  ],
  outputs: ["table", "json", "pem"],
  examples: [
    "certmint cert issue --profile web --dns api.example.com",
    "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout api.key -subj /CN=api.example.com -out api.csr\n" +
      "  certmint cert issue --profile web --csr api.csr --cert-out api.crt --bundle",
  ],
  async run(inv) {
    const a = inv.args;
    const csrFile = a.string("csr");
    if (csrFile !== undefined) {
      const clash = IDENTITY_FLAGS.find((f) => a.given(f));
      if (clash)
        throw new UsageError(
          `--${clash} and --csr contradict each other: the CSR holds the subject, names and key`,
        );
    }
    const pathLength = a.string("max-path-length");
    if (pathLength !== undefined && !a.flag("ca-certificate"))
      throw new UsageError("--max-path-length needs --ca-certificate");
    // Files are checked before anything is issued; and every request carries an idempotency
    // key, so that a certificate whose files could not be written can be fetched again.
    const requestId = a.string("request-id") ?? randomUUID();
    const validateOnly = a.flag("validate-only") === true;
    const paths = outputPaths(
      a,
      csrFile === undefined ? baseFromRequest(a) : baseFromCsrFile(csrFile),
    );
    if (!validateOnly) checkOutputs(inv, paths, csrFile === undefined);
    const plan = validateOnly ? undefined : { paths: () => paths, recovery: retryHint(requestId) };
    const request = IssueCertificateRequest.fromPartial({
      certificateProfile: a.required("profile"),
      requestId,
      signatureAlgorithm: readSignatureAlgorithm(a),
      keyUsages: a.strings("key-usage").map((u) => KEY_USAGE.parse(u, "key-usage")),
      extendedKeyUsages: a.strings("eku").map((u) => EXTENDED_KEY_USAGE.parse(u, "eku")),
      ttl: ttlOf(a),
      validateOnly,
      caCertificate: a.flag("ca-certificate")
        ? {
            maxPathLength:
              pathLength === undefined
                ? undefined
                : parseInteger(pathLength, "max-path-length", 0, 100),
          }
        : undefined,
    });
    request.source =
      csrFile !== undefined
        ? { $case: "csrPem", value: readInput(csrFile, "--csr") }
        : {
            $case: "attributes",
            value: {
              subject: readSubject(a),
              subjectAlternativeNames: readSans(a),
              keyAlgorithm: readKeyAlgorithm(a),
            },
          };
    const res = await inv.rpc(inv.clients.certificates, "issueCertificate", request);
    reportIssued(
      inv,
      res,
      () => IssueCertificateResponse.toJSON({ ...res, privateKeyPem: "" }),
      plan,
    );
  },
};

export const certRenew: CommandSpec = {
  name: "renew",
  summary: "issue a successor to a certificate: same profile, subject and names",
  description:
    "The new certificate, chain and (with a new key certmint generates) key are written like " +
    "cert issue's; to replace the files of the certificate renewed, pass --force. Only the " +
    "certificate's owner (the token that holds its key) or an admin may renew it, or any issuer " +
    "of the profile when it allows shared renewal.",
  positionals: [{ name: "CERTIFICATE", description: "the id of the certificate to renew" }],
  options: [
    {
      title: "Key",
      specs: {
        "key-source": {
          type: "string",
          value: "SOURCE",
          description:
            "new: certmint generates a key; reuse: the same public key; csr: --csr's (default: reuse for CSR certificates, new otherwise)",
          choices: RENEWAL_KEY_SOURCE.choices,
        },
        csr: {
          type: "string",
          value: "FILE",
          description: "a new CSR with the same subject and names (implies --key-source csr)",
        },
        "key-algorithm": keyAlgorithmOption(
          "with a new key: its algorithm (default: the original's)",
        ),
      },
    },
    REQUEST_SECTION,
    FILES_SECTION,
  ],
  outputs: ["table", "json", "pem"],
  examples: [
    "certmint cert renew 6f1c0a5e-... --force",
    "certmint cert renew 6f1c0a5e-... --key-source new --key-out api.key --force",
  ],
  async run(inv) {
    const a = inv.args;
    const csrFile = a.string("csr");
    const given = a.string("key-source");
    let keySource = given === undefined ? 0 : RENEWAL_KEY_SOURCE.parse(given, "key-source");
    if (csrFile !== undefined) {
      if (keySource !== 0 && keySource !== RenewalKeySource.RENEWAL_KEY_SOURCE_CSR) {
        throw new UsageError(`--csr contradicts --key-source ${given}`);
      }
      keySource = RenewalKeySource.RENEWAL_KEY_SOURCE_CSR;
    }
    const requestId = a.string("request-id") ?? randomUUID();
    const validateOnly = a.flag("validate-only") === true;
    // The default names come from the new certificate; the files the options name are checked now.
    if (!validateOnly) checkNamedOutputs(inv);
    const plan = validateOnly
      ? undefined
      : {
          paths: (cert: IssuedCertificate) =>
            outputPaths(a, baseFromCertificate(cert.certificatePem, cert.certificateId)),
          recovery: retryHint(requestId),
        };
    const res = await inv.rpc(
      inv.clients.certificates,
      "renewCertificate",
      RenewCertificateRequest.fromPartial({
        certificateId: a.positional(0, "CERTIFICATE"),
        requestId,
        keySource,
        csrPem: csrFile === undefined ? "" : readInput(csrFile, "--csr"),
        keyAlgorithm: readKeyAlgorithm(a),
        ttl: ttlOf(a),
        validateOnly: a.flag("validate-only") === true,
      }),
    );
    reportIssued(
      inv,
      res,
      () => RenewCertificateResponse.toJSON({ ...res, privateKeyPem: "" }),
      plan,
    );
  },
};
