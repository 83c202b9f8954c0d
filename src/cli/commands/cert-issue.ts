/** cert issue: a certificate into files. */
import {
  IssueCertificateRequest,
  IssueCertificateResponse,
} from "../../../gen/ts/certmint/v1/certificate_service";
import type { Args } from "../args";
import { type CommandSpec, UsageError } from "../command";
import { EXTENDED_KEY_USAGE, KEY_USAGE } from "../enums";
import { readInput } from "../files";
import { issuingCall } from "../issuing-call";
import {
  keyAlgorithmOption,
  readKeyAlgorithm,
  readSignatureAlgorithm,
  signatureAlgorithmOption,
} from "../options/algorithms";
import {
  baseFromCsrFile,
  checkOutputs,
  FILES_SECTION,
  fileBase,
  outputPaths,
} from "../options/issued-files";
import { REQUEST_SECTION, requestIdOf, retryHint, ttlOf } from "../options/request";
import { readSans, readSubject, SAN_OPTIONS, subjectOptions } from "../options/subject";
import { parseInteger } from "../values";
import { reportIssued } from "../views/issued";

/** The default file name of a certificate certmint makes a key for: its CN, else its first SAN. */
function baseFromRequest(a: Args): string {
  const first = [a.string("cn"), ...["dns", "ip", "email", "uri"].map((f) => a.strings(f)[0])].find(
    Boolean,
  );
  return fileBase(first ?? "certificate");
}

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
    const requestId = requestIdOf(a);
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
    const res = await issuingCall(
      inv,
      inv.clients.certificates,
      "issueCertificate",
      request,
      validateOnly
        ? undefined
        : {
            requestId,
            returns: "that certificate (and its key)",
            without: "a second certificate is issued, with another key",
          },
    );
    reportIssued(
      inv,
      res,
      () => IssueCertificateResponse.toJSON({ ...res, privateKeyPem: "" }),
      plan,
    );
  },
};
