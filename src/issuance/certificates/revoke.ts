import { failedPrecondition } from "../../errors";
import type { RevocationReason } from "../../model/pki";
import { changeTransaction } from "../access-tokens/caller";
import { lastAdminCredential, openLastAdminGuard } from "../access-tokens/last-admin";
import { type FieldChange, updatedFields } from "../audit/changes";
import { changeRecord } from "../audit/record";
import { revokedAbove } from "../ca/revoke";
import type { Call } from "../call";
import type { IssuanceDeps } from "../deps";
import {
  type CaRepository,
  type Certificate,
  type CertificateView,
  certificateView,
} from "../repositories";
import { certificateNamed, findCertificate } from "./find";
import {
  earliestDate,
  invalidityDateOf,
  refuseInvalidityAfterRevocation,
  refuseOtherInvalidityDate,
} from "./invalidity-date";
import { assertRevocationReason } from "./revocation-reason";
import { sameKeyLineage } from "./same-key";
import type { RevokeInput } from "./types";

/**
 * Revokes a certificate with an RFC 5280 5.3.1 reason, and the invalidity date given if any
 * (5.3.2, invalidity-date.ts); its serial is in its CA's next CRL.
 * Revoking a revoked certificate changes nothing (the first time and reason stand), except
 * that a certificate on hold (certificateHold, the one reversible reason; released by
 * release-hold.ts) takes any other reason given, at its hold's time, and is then revoked for
 * good; and that a key-compromise revocation that blocks the key also gives the certificate named the
 * reason keyCompromise, at its first revocation time (as Boulder's UpdateRevokedCertificate):
 * relying parties that treat that reason apart (RFC 5280 5.3.1, invalidity back-dating) learn
 * that the key is compromised, not only that the certificate was superseded. For
 * keyCompromise the key is compromised, not one certificate: every other unrevoked certificate
 * of the key (any profile, any CA: the same CSR sent twice, a REUSE renewal) is revoked with
 * it, in the same transaction, each with its own audit record, and the key is blocked from
 * later issuance (blocked-keys.ts). An ACME account's keyCompromise (keyCompromiseScope
 * LINEAGE) reaches only the renewals of its certificate that kept the key (same-key.ts) and
 * blocks nothing. An intermediate CA is revoked with RevokeCertificateAuthority (ca/revoke.ts).
 */
/**
 * Refuses (FAILED_PRECONDITION REVOCATION_REASON_REQUIRED) to make a hold final without a
 * reason: UNSPECIFIED is the proto's default and the CLI's, what a client that forgot the field
 * (or a careless retry) sends, and a hold made final can never be released. Until stop 43 of
 * 2026-12-06 it made the hold final silently (an outside probe).
 */
function reasonRequired(cert: Pick<Certificate, "id">) {
  return failedPrecondition(
    "REVOCATION_REASON_REQUIRED",
    `certificate ${cert.id} is on hold (certificateHold): revoking it for good needs an explicit reason (for example KEY_COMPROMISE, SUPERSEDED, CESSATION_OF_OPERATION), or release the hold with ReleaseCertificateHold; nothing was changed`,
    {
      preconditions: [
        {
          type: "CERTIFICATE_STATE",
          subject: `certificates/${cert.id}`,
          description: "revoked (CERTIFICATE_HOLD)",
        },
      ],
    },
  );
}

/**
 * Refuses (FAILED_PRECONDITION ISSUER_REVOKED) a revocation of a certificate whose issuing CA,
 * or a CA above it, was revoked, when it would change the certificate's row (not revoked, or on
 * hold) and is not for keyCompromise. That certificate is revoked already: OCSP answers
 * `revoked` for it at the CA's time (RFC 6960 2.2; cACompromise for a CA revoked for
 * keyCompromise, RFC 5280 5.3.1), and GetCertificate shows it ISSUER_REVOKED so
 * (queries.ts shownStatus). A later, weaker reason would record a revocation that no relying
 * party is ever told, and, for a hold (made final at the hold's earlier time), would replace the
 * CA's answer with a weaker one. As EJBCA, which lets a revoked certificate's reason change
 * only to keyCompromise: keyCompromise is still recorded, since it is about the certificate's
 * key, not its issuer, and blocks that key from later issuance and revokes its other
 * certificates (blocked-keys.ts), under any CA. Until stop 47 of 2026-12-06 such a revocation
 * was accepted and Get showed it while OCSP kept answering the CA's (an outside probe, S F3 of
 * stop 45; test/certificates/stop47-issuer-revoked.test.ts).
 */
async function refuseUnderRevokedIssuer(
  cas: Pick<CaRepository, "find">,
  cert: Pick<Certificate, "id" | "caId" | "revokedAt" | "revocationReason">,
  reason: RevocationReason,
): Promise<void> {
  if (!cert.caId || reason === "KEY_COMPROMISE") return;
  // Revoked for good already: the revocation changes nothing and answers as ever.
  if (cert.revokedAt && cert.revocationReason !== "CERTIFICATE_HOLD") return;
  // A hold asked again changes nothing either.
  if (cert.revokedAt && reason === "CERTIFICATE_HOLD") return;
  const issuer = await cas.find({ id: cert.caId });
  const revoked = issuer && (await revokedAbove(cas, issuer));
  if (!issuer || !revoked?.revokedAt) return;
  const which =
    revoked.id === issuer.id
      ? `its issuing certificate authority "${revoked.slug}"`
      : `certificate authority "${revoked.slug}", above its issuer "${issuer.slug}",`;
  const at = revoked.revokedAt.toISOString();
  const state = cert.revokedAt ? "on hold" : "not revoked on its own";
  throw failedPrecondition(
    "ISSUER_REVOKED",
    `certificate ${cert.id} is revoked already: ${which} was revoked (${revoked.revocationReason}) at ${at}, and OCSP and GetCertificate answer that revocation for it; a later revocation for ${reason} would not change what relying parties are told. Only KEY_COMPROMISE is still recorded (it blocks the certificate's key); nothing was changed`,
    {
      preconditions: [
        {
          type: "CA_STATUS",
          subject: `certificate_authorities/${revoked.slug}`,
          description: `revoked at ${at} (${revoked.revocationReason})`,
        },
        {
          type: "CERTIFICATE_STATE",
          subject: `certificates/${cert.id}`,
          description: state,
        },
      ],
    },
  );
}

/**
 * What a revocation changed on one certificate, for its audit record: its revocation time and
 * reason before and after, and for a certificate revoked with another change, why (`cause`: for
 * one revoked because another certificate of its key was revoked for key compromise, that
 * certificate, `key_compromise_certificate_id`).
 */
function revocationChanges(
  before: Pick<Certificate, "revokedAt" | "revocationReason" | "invalidityDate">,
  after: RevocationState,
  cause?: FieldChange,
): FieldChange[] {
  const changes = updatedFields(
    {
      revokedAt: before.revokedAt,
      revocationReason: before.revocationReason,
      invalidityDate: before.invalidityDate ?? null,
    },
    after,
  );
  if (cause) changes.push(cause);
  return changes;
}

export async function revoke(
  deps: IssuanceDeps,
  call: Call,
  input: RevokeInput,
): Promise<CertificateView> {
  assertRevocationReason(input.reason);
  const invalidityDate = invalidityDateOf(input.invalidityDate, input.reason, deps.now());
  const cert = await findCertificate(deps.store, input.certificate, "certificate", {
    caSerialHint: true,
  });
  await refuseUnderRevokedIssuer(deps.store.cas, cert, input.reason);
  const unspecified = input.reason === "UNSPECIFIED";
  if (unspecified && cert.revokedAt && cert.revocationReason === "CERTIFICATE_HOLD") {
    throw reasonRequired(cert);
  }
  const compromised = input.reason === "KEY_COMPROMISE";
  const blocking = compromised && input.keyCompromiseScope !== "LINEAGE" && cert.spkiSha256;
  let sameKey = compromised && !blocking ? await sameKeyLineage(deps.store.certificates, cert) : [];
  const now = deps.now();
  // The last client certificate that authenticates as an admin binding is the last admin
  // credential as much as a bearer token is (access-tokens/last-admin.ts): judged only for a
  // certificate a TLS client could present, and for a key compromise (its revocation reaches
  // every certificate of the key), so other revocations take no global lock. Its lock comes
  // first, before the caller's row (lastAdminGuard), the key's and the rows' locks.
  const guarded = compromised || mayAuthenticateClients(cert);
  await changeTransaction(deps, { call, lastAdminGuard: guarded }, async (tx) => {
    const lastAdmin = guarded ? await openLastAdminGuard(tx, now) : undefined;
    if (blocking) {
      // After the key's lock: certificates of the key whose store raced this one are here.
      sameKey = (await tx.certificates.blockKey(blocking, cert.id, now)).filter(
        (c) => c.id !== cert.id,
      );
    }
    for (const c of [cert, ...sameKey]) {
      await revokeCertificateRow(tx, call, c, {
        reason: input.reason,
        now,
        named: c === cert,
        blocking: Boolean(blocking),
        // The key's compromise dates each certificate of the key it revokes.
        ...(invalidityDate ? { invalidityDate } : {}),
        ...(c === cert
          ? {}
          : { cause: { field: "key_compromise_certificate_id", after: cert.id } }),
      });
    }
    // A key revoked as compromised is handed out no more: not on a replay of its request_id,
    // nor by GetRequestStatus after an approval, nor on a watch (until 2026-12-05 each still
    // returned it to its owner: an outside probe). Nor is it kept sealed.
    if (compromised)
      await tx.certificates.forgetPrivateKeys([cert.id, ...sameKey.map((c) => c.id)]);
    await lastAdmin?.check((before) =>
      lastAdminCredential(`certificates/${cert.id}`, revokingWhat(cert, sameKey), before),
    );
  });
  for (const c of [cert, ...sameKey]) {
    deps.onCertificateRevoked?.({
      caId: c.caId,
      fingerprintSha256: c.fingerprintSha256,
      // A CA certificate issued through a profile may be in the client CA bundle (ca-directory.ts).
      certificateAuthority: c.isCa,
    });
  }
  return certificateView(await certificateNamed(deps.store, cert.id));
}

/** What revokeCertificateRow is asked for one certificate. */
export interface RowRevocation {
  readonly reason: RevocationReason;
  readonly now: Date;
  /**
   * The certificate the call names (RevokeCertificate's): refused under a revoked issuer
   * (refuseUnderRevokedIssuer), made keyCompromise when revoked already and its key blocked,
   * refused a hold made final without a reason, and audited even when nothing changed. Another
   * (revoked with it: the same key's, a revoked token line's) is audited only when revoked here.
   */
  readonly named: boolean;
  /** The certificate's key is blocked by this revocation (keyCompromise, blocked-keys.ts). */
  readonly blocking?: boolean;
  /** Why it went with another change, in its audit record (e.g. key_compromise_certificate_id). */
  readonly cause?: FieldChange;
  /** RFC 5280 5.3.2, whole seconds (invalidity-date.ts): recorded when this changes the row. */
  readonly invalidityDate?: Date;
}

/** A certificate's revocation as its audit record shows it before and after. */
interface RevocationState {
  revokedAt: Date | null;
  revocationReason: RevocationReason | null;
  invalidityDate: Date | null;
}

/** The repositories revokeCertificateRow writes through, a transaction's. */
export type RowRevocationStore = Pick<IssuanceDeps["store"], "certificates" | "cas" | "audit">;

/**
 * One certificate's revocation inside the caller's transaction, as RevokeCertificate makes it
 * for each certificate it revokes: its row locked, read again under the lock, revoked (or its
 * hold made final), counted against its CA's CRL, audited. Whether it changed the row; the
 * caller tells the processes after the commit (onCertificateRevoked: CRL, OCSP, the credential
 * caches of every process). Also used by RevokeAccessToken with revoke_created_tokens
 * (access-tokens/line.ts) for the client certificates of a cut line.
 */
export async function revokeCertificateRow(
  tx: RowRevocationStore,
  call: Call,
  c: Certificate,
  r: RowRevocation,
): Promise<boolean> {
  const { reason, now, named } = r;
  const unspecified = reason === "UNSPECIFIED";
  // Each statement below reads its own snapshot and skips a row that does not qualify in
  // it without waiting: a hold released meanwhile (release-hold.ts) made markRevoked skip
  // the row as still revoked and finishHold find it valid, and the revocation answered OK
  // with the certificate valid (a review of stop 42). Locked first, they see the release.
  await tx.certificates.lockRevocation(c.id);
  // The row as it is under the lock: what the audit record says it was before.
  const before = (await tx.certificates.findById(c.id)) ?? c;
  // A CA revocation committed, or a hold placed, since the first read: refused all the same.
  // One that commits after this orders after the revocation, whose own time then stands.
  if (named) await refuseUnderRevokedIssuer(tx.cas, before, reason);
  let invalidityDate = r.invalidityDate ?? null;
  // A row revoked already keeps its revocation time whatever changes (a hold made final, a
  // reason raised): an invalidity date after that time is refused for the certificate named
  // (but for a retry of the one recorded), and not recorded for another of its key, whose own
  // earlier revocation already covers it (RFC 5280 5.3.2; invalidity-date.ts).
  if (
    invalidityDate &&
    before.revokedAt &&
    invalidityDate.getTime() > before.revokedAt.getTime() &&
    before.invalidityDate?.getTime() !== invalidityDate.getTime()
  ) {
    if (named)
      refuseInvalidityAfterRevocation(`certificate ${c.id}`, before.revokedAt, invalidityDate);
    invalidityDate = null;
  }
  let after: RevocationState | undefined;
  if (await tx.certificates.markRevoked(c.id, reason, now, invalidityDate)) {
    after = { revokedAt: now, revocationReason: reason, invalidityDate };
  } else if (
    // A hold made final: any other reason replaces certificateHold (RFC 5280 5.3.1), at the
    // hold's time. Until stop 42 of 2026-12-06 the hold stood, and a certificate revoked
    // for good while on hold could be released. Not judged by the row read before the
    // transaction (a hold placed since would stand): the update is conditional on the
    // hold, and only a revoked certificate gets here. Never without a reason
    // (reasonRequired): a hold placed since the first read is refused here too.
    reason !== "CERTIFICATE_HOLD" &&
    !(unspecified && before.revocationReason === "CERTIFICATE_HOLD") &&
    (await tx.certificates.finishHold(c.id, reason, invalidityDate))
  ) {
    after = { revokedAt: before.revokedAt, revocationReason: reason, invalidityDate };
  } else if (
    // Only with the key blocked: an ACME account's keyCompromise proves no hold of the key.
    // The certificate named, and every other certificate of the key revoked before for a
    // weaker reason (superseded, ...): the key is compromised in each of them, at its own
    // revocation's time, as Mozilla's root store policy (6.1.1) asks of a CA that learns of
    // it. Until stop 52 of 2026-12-07 only the one named changed (an outside probe,
    // REVOCATION F4).
    // Its invalidity date the earlier of the one recorded and the one given: the certificate
    // became invalid no later than either says (RFC 5280 5.3.2), and a raise never publishes a
    // later date than before.
    r.blocking &&
    reason === "KEY_COMPROMISE" &&
    (await tx.certificates.markKeyCompromised(
      c.id,
      earliestDate(invalidityDate, before.invalidityDate),
    ))
  ) {
    after = {
      revokedAt: before.revokedAt,
      revocationReason: "KEY_COMPROMISE",
      invalidityDate: earliestDate(invalidityDate, before.invalidityDate),
    };
  } else if (
    // A key compromise learnt to go back further than recorded: revoked for keyCompromise
    // already, and given an earlier invalidity date than its own (or its first). The date only
    // moves earlier, so what relying parties are told only gets stronger; a later one is
    // refused below (INVALIDITY_TIME_RECORDED). Until stop 58 of 2026-12-07 any date on a
    // certificate revoked for keyCompromise was refused, and one first recorded without a
    // date (or with another reason's) could never be dated (an outside probe).
    reason === "KEY_COMPROMISE" &&
    invalidityDate &&
    before.revokedAt &&
    before.revocationReason === "KEY_COMPROMISE" &&
    (!before.invalidityDate || invalidityDate.getTime() < before.invalidityDate.getTime()) &&
    (await tx.certificates.backdateInvalidity(c.id, invalidityDate))
  ) {
    after = { revokedAt: before.revokedAt, revocationReason: "KEY_COMPROMISE", invalidityDate };
  } else if (
    unspecified &&
    named &&
    before.revokedAt &&
    before.revocationReason === "CERTIFICATE_HOLD"
  ) {
    throw reasonRequired(c);
  }
  const revoked = after !== undefined;
  if (named && !revoked && invalidityDate) {
    refuseOtherInvalidityDate(
      { type: "CERTIFICATE_STATE", subject: `certificates/${c.id}`, what: `certificate ${c.id}` },
      before,
      invalidityDate,
    );
  }
  // Counted against the CA whose CRL lists it, in the revoking transaction: every replica's
  // published CRL compares this count with the one it was signed at (ca/publication.ts).
  if (revoked && c.caId) await tx.cas.countRevocation(c.caId);
  // Only the certificate named, and those this call revoked: one revoked before keeps its
  // own record and reason. Each says what it changed (revoked_at, revocation_reason), and
  // one revoked with another change, why (r.cause: with the key of the certificate named,
  // which certificate that was); until stop 43 of 2026-12-06 these records carried no change
  // at all (an outside probe).
  if (named || revoked) {
    await tx.audit.insert(
      changeRecord(
        call,
        { type: "certificate", id: c.id },
        now,
        undefined,
        after ? revocationChanges(before, after, r.cause) : undefined,
      ),
    );
  }
  return revoked;
}

/**
 * What a refused revocation would have revoked, for the last-admin refusal: a keyCompromise
 * takes the certificates of the same key with it, and the credential that guard protects is
 * often one of those, not the certificate named (until stop 46 of 2026-12-06 the refusal named
 * only that one, so the operator could not see why: an outside probe, S F4).
 */
function revokingWhat(cert: Certificate, sameKey: readonly Certificate[]): string {
  if (sameKey.length === 0) return `revoking certificate ${cert.id}`;
  const shown = sameKey.slice(0, 2).map((c) => c.id);
  const more = sameKey.length > shown.length ? ` and ${sameKey.length - shown.length} more` : "";
  return `revoking certificate ${cert.id} for keyCompromise, and with it the certificates of the same key (${shown.join(", ")}${more}),`;
}

/**
 * Whether a TLS client could authenticate with the certificate: not a CA, and no extended key
 * usage or clientAuth among them (RFC 5280 4.2.1.12).
 */
function mayAuthenticateClients(
  cert: Pick<Certificate, "isCa" | "extendedKeyUsages" | "caId">,
): boolean {
  if (cert.isCa || cert.caId === null) return false;
  return cert.extendedKeyUsages.length === 0 || cert.extendedKeyUsages.includes("CLIENT_AUTH");
}
