import type { KeyObject } from "node:crypto";
import { randomUUID } from "node:crypto";
import { failedPrecondition } from "../../errors";
import {
  assertNamesPermitted,
  computeValidity,
  exportPrivateKeyPem,
  issueCertificate,
  type KeyRequest,
  newSerialNumber,
  SoftwareSigner,
  serialToHex,
} from "../../signer";
import type { CertificateRequestRow, CertificateRow } from "../../store/entities";
import type { HeldConnection } from "../../store/prepared";
import { linkRenewal, storeIssuedCertificate } from "../../store/raw-insert";
import { auditColumnsForStatement } from "../audit/record";
import { caIssuer, requireActive } from "../ca/load";
import { publicationUrls } from "../ca/publication-urls";
import { refuseIfAbandoned } from "../call-scope";
import { DEFAULT_GENERATED_KEY_REPLAY_SECONDS, type IssuanceDeps } from "../deps";
import { searchNames } from "./names";
import type { IssuancePlan, IssuedView, StoredParams } from "./types";

/** AAD binding a sealed private key to the row that holds it. */
export const certificateKeyAad = (certificateId: string) => `certmint:certificate:${certificateId}`;
export const requestKeyAad = (requestRowId: string) => `certmint:request:${requestRowId}`;

/** The params column of a request: what approval needs to sign the plan later. */
export function storedParams(plan: IssuancePlan): StoredParams {
  return {
    keySource: plan.key.kind,
    keyAlgorithm: plan.keyAlgorithm,
    reusedSpki:
      plan.key.kind === "REUSE"
        ? plan.key.publicKey.export({ type: "spki", format: "der" }).toString("base64")
        : undefined,
    signatureAlgorithm: plan.signatureAlgorithm,
    keyUsages: plan.keyUsages,
    extendedKeyUsages: plan.extendedKeyUsages,
    ttlSeconds: plan.ttlSeconds,
    ...(plan.isCa ? { isCa: true, pathLength: plan.pathLength } : {}),
  };
}

/** Preconditions that depend on the issuer's state rather than the request (FAILED_PRECONDITION). */
export function checkIssuerState(
  deps: IssuanceDeps,
  plan: IssuancePlan,
): { notBefore: Date; notAfter: Date } {
  if (plan.ca) requireActive(plan.ca);
  if (!plan.ca && plan.key.kind !== "GENERATE") {
    throw failedPrecondition(
      "SELF_SIGNED_NEEDS_GENERATED_KEY",
      `profile "${plan.profile.slug}" issues self-signed certificates: certmint must generate the key, so send attributes instead of a CSR`,
    );
  }
  const validity = computeValidity({
    now: deps.now(),
    ttlSeconds: plan.ttlSeconds,
    issuerNotAfter: plan.ca?.notAfter ?? undefined,
    onExceed: plan.profile.validityOverflow === "TRUNCATE" ? "truncate" : "fail",
  });
  if (plan.ca) {
    // What the issuing CA's own certificate allows (path length, name constraints), checked
    // before the request is committed; the signer checks it again as it signs.
    const issuer = caIssuer(deps, plan.ca);
    issuer.assertMayIssue(validity.notAfter, plan.isCa ?? false, plan.pathLength);
    assertNamesPermitted(issuer, plan.subject, plan.sans);
  }
  return validity;
}

export interface SignResult {
  certificate: CertificateRow;
  view: IssuedView;
  /** PKCS#8 PEM of a key certmint generated; undefined for CSR and REUSE. */
  privateKeyPem?: string;
}

/** The certified key: from the CSR, reused, or generated (the private key only then). */
export interface CertifiedKey {
  publicKey: KeyObject;
  privateKey?: KeyObject;
}

/**
 * The plan's key; a generated one is made now, in the caller's fair share of the key
 * generator (RSA runs on its worker threads, src/signer/key-generator.ts).
 */
export async function certifiedKeyOf(
  deps: IssuanceDeps,
  plan: IssuancePlan,
  request: KeyRequest,
): Promise<CertifiedKey> {
  return plan.key.kind === "GENERATE"
    ? deps.keys.generate(plan.key.keyAlgorithm, request)
    : { publicKey: plan.key.publicKey };
}

/** The request was completed by another call while this one held the lock: nothing is stored. */
export class RequestSettled extends Error {
  override readonly name = "RequestSettled";
}

/**
 * Steps 6-7 of issuance (Boulder's order): the request row is already PENDING with its serial
 * reserved and committed, and `connection` holds its lock (finish.ts); sign; then store the
 * certificate and mark the request ISSUED in the lock's transaction. A crash between signing
 * and commit leaves a PENDING request whose certificate nobody received; replaying its
 * request_id signs it again under the same serial.
 */
export async function signAndStore(
  deps: IssuanceDeps,
  plan: IssuancePlan,
  request: CertificateRequestRow,
  key: CertifiedKey,
  connection: HeldConnection,
  options: { renewalOf?: CertificateRow; holdKeyForFetch?: boolean } = {},
): Promise<SignResult> {
  const validity = checkIssuerState(deps, plan);
  const { publicKey, privateKey } = key;
  // A caller that stopped waiting (deadline, cancel) before its certificate is signed gets
  // nothing signed: finish() records the request FAILED, and a retry needs a new request_id.
  // An approval signs for a requester who is not on this call, so the approver's deadline
  // does not apply.
  if (!options.holdKeyForFetch) refuseIfAbandoned();
  const serial = Buffer.from(request.reservedSerial!, "hex");
  const issued = await issueCertificate({
    subject: plan.subject,
    sans: plan.sans,
    publicKey,
    serial,
    ...validity,
    isCa: plan.isCa ?? false,
    pathLength: plan.pathLength,
    nameConstraints: plan.nameConstraints,
    keyUsages: plan.keyUsages,
    extendedKeyUsages: plan.extendedKeyUsages,
    signatureAlgorithm: plan.signatureAlgorithm,
    issuer: plan.ca ? caIssuer(deps, plan.ca) : { selfSigned: new SoftwareSigner(privateKey!) },
    ...(plan.ca ? publicationUrls(deps.publicBaseUrl, plan.ca.id) : {}),
  });
  const certificateId = randomUUID();
  const now = deps.now();
  const chainPem = plan.ca ? [plan.ca.certificatePem!, ...plan.ca.chainPem] : [issued.pem];
  const commonName = plan.subject.attributes.find((a) => a.type === "COMMON_NAME")?.value ?? "";
  // STORE_ENCRYPTED keeps the key with the certificate: a generated one, or (REUSE renewal)
  // the predecessor's, re-sealed under the new certificate's id.
  const keptKey =
    plan.profile.privateKeyRetention !== "STORE_ENCRYPTED"
      ? undefined
      : (privateKey ??
        (plan.key.kind === "REUSE" && options.renewalOf?.sealedPrivateKey
          ? deps.keyring.openWith(
              certificateKeyAad(options.renewalOf.id),
              options.renewalOf.sealedPrivateKey,
            )
          : undefined));
  const row: CertificateRow = {
    id: certificateId,
    serialNumber: issued.serialHex,
    caId: plan.ca?.id ?? null,
    profileId: plan.profile.id,
    certificateRequestId: request.id,
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
    certificatePem: issued.pem,
    chainPem,
    revokedAt: null,
    revocationReason: null,
    renewedFromId: options.renewalOf?.id ?? null,
    renewedById: null,
    sealedPrivateKey: keptKey
      ? deps.keyring.sealWith(certificateKeyAad(certificateId), keptKey)
      : null,
    owner: ownerOf(request, plan, options.renewalOf),
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
  // A renewal first links the old certificate (refused if it was renewed or revoked
  // meanwhile); the lock's transaction rolls the link back if nothing is stored.
  if (options.renewalOf && !(await linkRenewal(connection, options.renewalOf.id, certificateId))) {
    throw failedPrecondition(
      "CERTIFICATE_ALREADY_RENEWED",
      "the certificate was renewed or revoked meanwhile",
    );
  }
  // The certificate stored, the request marked ISSUED and the audit record, in one statement.
  const stored = await storeIssuedCertificate(
    connection,
    {
      ...row,
      subject: { json: row.subject },
      sans: { json: row.sans },
      keyUsages: { json: row.keyUsages },
      extendedKeyUsages: { json: row.extendedKeyUsages },
      chainPem: { json: row.chainPem },
      sealedPrivateKey: row.sealedPrivateKey ? Buffer.from(row.sealedPrivateKey) : null,
    },
    {
      id: request.id,
      updatedAt: now,
      sealedPrivateKey: heldKey,
      keyHeldUntil:
        heldKey && holdForReplay ? new Date(now.getTime() + replaySeconds * 1000) : null,
    },
    auditColumnsForStatement({ type: "certificate_request", id: request.id }, now),
  );
  if (!stored) throw new RequestSettled();
  const certificate = row;
  return {
    certificate,
    view: {
      certificateId,
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
 * Who owns the new certificate: whoever holds its private key. A REUSE renewal certifies the
 * renewed certificate's key, which stays its owner's; otherwise the caller made or received
 * the key (the requester of an issuance, the caller of a NEW or CSR renewal).
 */
function ownerOf(
  request: CertificateRequestRow,
  plan: IssuancePlan,
  renewalOf: CertificateRow | undefined,
): string {
  return plan.key.kind === "REUSE" && renewalOf ? renewalOf.owner : request.caller;
}

/** A fresh serial for a new request row (RFC 5280 4.1.2.2: positive, >= 64 random bits). */
export const reserveSerial = (): string => serialToHex(newSerialNumber());
