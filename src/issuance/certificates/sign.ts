import { exportPrivateKeyPem, issueCertificate, SoftwareSigner } from "../../signer";
import { caIssuer } from "../ca/load";
import { publicationUrls } from "../ca/publication-urls";
import { newRowId } from "../common/ids";
import { DEFAULT_GENERATED_KEY_REPLAY_SECONDS, type IssuanceDeps } from "../deps";
import type { Certificate, CertificateRequest, IssuedRequest } from "../repositories";
import { recordedVouchers } from "./credential-lifetime";
import { type CertifiedKey, certificateKeyAad, requestKeyAad } from "./keys";
import { searchNames } from "./names";
import type { IssuancePlan, IssuedView } from "./types";

/** A signed certificate, ready to store: its record, how its request ends, its view. */
export interface SignedCertificate {
  certificate: Certificate;
  /** The request's side of the store: ISSUED, with a generated key kept sealed or not. */
  request: IssuedRequest;
  view: IssuedView;
  /** PKCS#8 PEM of a key certmint generated, for this call's answer; undefined otherwise. */
  privateKeyPem?: string;
}

export interface SignOptions {
  /** The certificate a renewal succeeds. */
  renewalOf?: Certificate;
  /** An approval: the generated key waits sealed for the requester's GetRequestStatus. */
  holdKeyForFetch?: boolean;
}

/**
 * The publication URLs a certificate carries. A responder certificate (id-kp-OCSPSigning, not a
 * CA's) carries id-pkix-ocsp-nocheck (signer/certificate.ts ocspNoCheckOf): relying parties do
 * not check its status (RFC 6960 4.2.2.2.1), so a CRL distribution point in it is dead weight
 * and an OCSP URL invites a circular lookup (the responder asked about its own certificate; CA/B
 * BR 7.1.2.8 forbids the CDP in one). It keeps caIssuers, which builds its path. certmint's own
 * responder certificates (ocsp-delegate.ts) carry neither. Until stop 44 of 2026-12-06 one issued
 * through a profile carried both (an outside probe, E F3).
 */
function statusPointers(
  plan: Pick<IssuancePlan, "isCa" | "extendedKeyUsages">,
  urls: ReturnType<typeof publicationUrls>,
): ReturnType<typeof publicationUrls> {
  const noCheck = !plan.isCa && plan.extendedKeyUsages.includes("OCSP_SIGNING");
  if (!noCheck) return urls;
  return urls.caIssuersUrl ? { caIssuersUrl: urls.caIssuersUrl } : {};
}

/**
 * The signing step: the plan signed under the request's reserved serial with the validity
 * checkIssuerState computed, and the certificate record built (nothing is written here).
 */
export async function sign(
  deps: IssuanceDeps,
  plan: IssuancePlan,
  request: CertificateRequest,
  key: CertifiedKey,
  validity: { notBefore: Date; notAfter: Date },
  options: SignOptions = {},
): Promise<SignedCertificate> {
  const { publicKey, privateKey } = key;
  const issued = await issueCertificate({
    subject: plan.subject,
    sans: plan.sans,
    publicKey,
    serial: Buffer.from(request.reservedSerial!, "hex"),
    ...validity,
    isCa: plan.isCa ?? false,
    pathLength: plan.pathLength,
    nameConstraints: plan.nameConstraints,
    keyUsages: plan.keyUsages,
    extendedKeyUsages: plan.extendedKeyUsages,
    signatureAlgorithm: plan.signatureAlgorithm,
    issuer: plan.ca ? caIssuer(deps, plan.ca) : { selfSigned: new SoftwareSigner(privateKey!) },
    ...(plan.ca ? statusPointers(plan, publicationUrls(deps, plan.ca.id)) : {}),
  });
  const id = newRowId();
  const now = deps.now();
  const chainPem = plan.ca ? [plan.ca.certificatePem!, ...plan.ca.chainPem] : [issued.pem];
  const commonName = plan.subject.attributes.find((a) => a.type === "COMMON_NAME")?.value ?? "";
  const kept = keptKey(deps, plan, key, options.renewalOf);
  const certificate: Certificate = {
    id,
    serialNumber: issued.serialHex,
    caId: plan.ca?.id ?? null,
    profileId: plan.profile.id,
    certificateRequestId: request.id,
    owner: ownerOf(request, plan, options.renewalOf),
    authenticatesUntil: request.authenticatesUntil ?? null,
    // Besides its owner (credential-lifetime.ts): the request's vouchers and its caller.
    vouchedBy: recordedVouchers(
      [...(request.vouchedBy ?? []), request.caller],
      ownerOf(request, plan, options.renewalOf),
    ),
    subject: plan.subject,
    commonName,
    sans: plan.sans,
    searchNames: searchNames(commonName, plan.sans),
    keyAlgorithm: plan.keyAlgorithm,
    signatureAlgorithm: plan.signatureAlgorithm,
    keyUsages: plan.keyUsages,
    extendedKeyUsages: plan.extendedKeyUsages,
    isCa: plan.isCa ?? false,
    notBefore: issued.notBefore,
    notAfter: issued.notAfter,
    fingerprintSha256: issued.fingerprintSha256,
    spkiSha256: issued.spkiSha256,
    certificatePem: issued.pem,
    chainPem,
    revokedAt: null,
    revocationReason: null,
    renewedFromId: options.renewalOf?.id ?? null,
    renewedById: null,
    sealedPrivateKey: kept ? deps.keyring.sealWith(certificateKeyAad(id), kept) : null,
    createdAt: now,
  };
  // A generated key that the profile does not keep waits, sealed on the request, for its
  // requester only: after approval until its first GetRequestStatus (the requester is not on
  // this call); otherwise for replays of the request_id, so an answer lost on the way (a
  // dropped connection) does not lose the key with it, until the sweep deletes it
  // (held-keys.ts).
  const replaySeconds = deps.generatedKeyReplaySeconds ?? DEFAULT_GENERATED_KEY_REPLAY_SECONDS;
  const holdForReplay =
    !options.holdKeyForFetch &&
    plan.profile.privateKeyRetention !== "STORE_ENCRYPTED" &&
    replaySeconds > 0;
  const heldKey =
    privateKey && (options.holdKeyForFetch || holdForReplay)
      ? deps.keyring.sealWith(requestKeyAad(request.id), privateKey)
      : null;
  return {
    certificate,
    request: {
      id: request.id,
      updatedAt: now,
      sealedPrivateKey: heldKey,
      keyHeldUntil:
        heldKey && holdForReplay ? new Date(now.getTime() + replaySeconds * 1000) : null,
    },
    view: {
      certificateId: id,
      certificatePem: issued.pem,
      chainPem,
      issuingCaPem: plan.ca ? plan.ca.certificatePem! : issued.pem,
      serialNumber: issued.serialHex,
      notBefore: issued.notBefore,
      notAfter: issued.notAfter,
    },
    privateKeyPem:
      privateKey && !options.holdKeyForFetch ? exportPrivateKeyPem(privateKey) : undefined,
  };
}

/**
 * The key STORE_ENCRYPTED keeps with the certificate: a generated one, or (REUSE renewal) the
 * predecessor's, re-sealed under the new certificate's id.
 */
function keptKey(
  deps: IssuanceDeps,
  plan: IssuancePlan,
  key: CertifiedKey,
  renewalOf: Certificate | undefined,
) {
  if (plan.profile.privateKeyRetention !== "STORE_ENCRYPTED") return undefined;
  if (key.privateKey) return key.privateKey;
  if (plan.key.kind === "REUSE" && renewalOf?.sealedPrivateKey) {
    return deps.keyring.openWith(certificateKeyAad(renewalOf.id), renewalOf.sealedPrivateKey);
  }
  return undefined;
}

/**
 * Who owns the new certificate: whoever holds its private key. A REUSE renewal certifies the
 * renewed certificate's key, which stays its owner's; otherwise the caller made or received
 * the key (the requester of an issuance, the caller of a NEW or CSR renewal).
 */
function ownerOf(
  request: CertificateRequest,
  plan: IssuancePlan,
  renewalOf: Certificate | undefined,
): string {
  return plan.key.kind === "REUSE" && renewalOf ? renewalOf.owner : request.caller;
}
