/** cert renew: a successor certificate into files. */
import {
  type IssuedCertificate,
  RenewalKeySource,
  RenewCertificateRequest,
  RenewCertificateResponse,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { type CommandSpec, UsageError } from "../command";
import { RENEWAL_KEY_SOURCE } from "../enums";
import { readInput } from "../files";
import { keyAlgorithmOption, readKeyAlgorithm } from "../options/algorithms";
import {
  baseFromCertificate,
  checkNamedOutputs,
  FILES_SECTION,
  outputPaths,
} from "../options/issued-files";
import { REQUEST_SECTION, requestIdOf, retryHint, ttlOf } from "../options/request";
import { reportIssued } from "../views/issued";

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
    const requestId = requestIdOf(a);
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
        validateOnly,
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
