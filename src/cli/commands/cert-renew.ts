/** cert renew: a successor certificate into files. */
import {
  RenewalKeySource,
  RenewCertificateRequest,
  RenewCertificateResponse,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { CliError, type CommandSpec, UsageError } from "../command";
import { RENEWAL_KEY_SOURCE } from "../enums";
import { pathExists, readInput } from "../files";
import type { Invocation } from "../invocation";
import { issuingCall } from "../issuing-call";
import { keyAlgorithmOption, readKeyAlgorithm } from "../options/algorithms";
import {
  baseFromCertificate,
  checkOutputs,
  FILES_SECTION,
  type OutputPaths,
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
    const certificateId = a.positional(0, "CERTIFICATE");
    const requestId = requestIdOf(a);
    const validateOnly = a.flag("validate-only") === true;
    // Files are checked before anything is renewed: a renewal refused afterwards leaves the
    // certificate renewed, and the obvious retry (--force) refused as already renewed.
    const paths = validateOnly ? undefined : await plannedPaths(inv, certificateId);
    if (paths) checkRenewalOutputs(inv, paths, keySource);
    const plan = paths && { paths: () => paths, recovery: retryHint(requestId) };
    const res = await issuingCall(
      inv,
      inv.clients.certificates,
      "renewCertificate",
      RenewCertificateRequest.fromPartial({
        certificateId,
        requestId,
        keySource,
        csrPem: csrFile === undefined ? "" : readInput(csrFile, "--csr"),
        keyAlgorithm: readKeyAlgorithm(a),
        ttl: ttlOf(a),
        validateOnly,
      }),
      validateOnly
        ? undefined
        : {
            requestId,
            returns: "the successor that call made (and its key)",
            without: `the renewal is refused: ${certificateId} is renewed already`,
          },
    );
    reportIssued(
      inv,
      res,
      () => RenewCertificateResponse.toJSON({ ...res, privateKeyPem: "" }),
      plan,
    );
  },
};

/**
 * Where the renewal's files go. The default names come from the certificate renewed: its
 * successor has the same subject and names (by contract), so they are known before anything is
 * signed. Read with GetCurrentCertificate, which issuers may call (GetCertificate is for admins
 * and auditors): the certificate, or, renewed already (a repetition with --request-id), its
 * successor, which has the same names too. Until stop 40 of 2026-12-05 (an outside probe) the
 * names were learnt from the answer, so `cert renew ID` where `cert issue` had written its files
 * renewed, then refused to write them.
 */
async function plannedPaths(inv: Invocation, certificateId: string): Promise<OutputPaths> {
  const a = inv.args;
  if (["cert-out", "chain-out", "key-out"].every((o) => a.given(o)))
    return outputPaths(a, undefined);
  const res = await inv.rpc(inv.clients.certificates, "getCurrentCertificate", {
    certificate: certificateId,
  });
  const current = res.certificate;
  if (!current?.certificatePem)
    throw new CliError(`${certificateId}: the server sent no certificate to name the files after`);
  return outputPaths(a, baseFromCertificate(current.certificatePem, certificateId));
}

/**
 * checkOutputs for a renewal. Whether it returns a key is known only for --key-source new
 * (yes), reuse and csr (no); without --key-source the server decides (a new key for a
 * certificate whose key it generated, else the same key), so an existing key file is refused
 * with both ways out: it may be the user's own key of a CSR certificate, not to be removed.
 */
function checkRenewalOutputs(inv: Invocation, paths: OutputPaths, keySource: number): void {
  checkOutputs(inv, paths, keySource === RenewalKeySource.RENEWAL_KEY_SOURCE_NEW);
  if (keySource !== RenewalKeySource.RENEWAL_KEY_SOURCE_UNSPECIFIED) return;
  const key = paths.privateKey;
  if (key !== undefined && key !== "-" && !inv.args.flag("force") && pathExists(key)) {
    throw new CliError(
      `${key} exists: for a certificate whose key certmint generated, the renewal generates a new key: ` +
        "pass --force to replace the file, or --key-out FILE; --key-source reuse keeps the key (and writes no key file)",
    );
  }
  checkOutputs(inv, { privateKey: key }, true);
}
