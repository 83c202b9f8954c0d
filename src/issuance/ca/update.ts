import { CertmintError, failedPrecondition, invalidField } from "../../errors";
import { type CallerLocks, changeTransaction } from "../access-tokens/caller";
import { updatedFields } from "../audit/changes";
import { changeRecord } from "../audit/record";
import type { Call } from "../call";
import { checkEtag } from "../common/etag";
import { checkNamedSlug, resolveRef } from "../common/refs";
import { stillThere } from "../common/row-lock";
import {
  type AuditRepository,
  type CaRepository,
  type CertificateAuthority,
  type CertificateAuthorityView,
  caView,
  type StoreWith,
} from "../repositories";
import { revokedAbove } from "./revoke";
import type { UpdateCaInput } from "./types";

export interface UpdateCaDeps {
  store: StoreWith<
    CallerLocks & {
      cas: Pick<CaRepository, "find" | "update" | "lockSigning">;
      audit: Pick<AuditRepository, "insert">;
    }
  >;
  now: () => Date;
}

/** Enables or disables a CA, or changes its description; refuses stale etags (ABORTED). */
export async function updateCa(
  deps: UpdateCaDeps,
  call: Call,
  input: UpdateCaInput,
): Promise<CertificateAuthorityView> {
  const ca = await resolveRef(input.ca, "certificate authority", "certificate_authority.id", (k) =>
    deps.store.cas.find(k),
  );
  checkNamedSlug(input.namedSlug, ca, "certificate_authority", "certificate authority");
  checkEtag(input.etag, ca.version, `certificate authority "${ca.slug}"`);
  const changes: Partial<CertificateAuthority> = {};
  if (input.status !== undefined) {
    await checkStatusChange(deps.store.cas, ca, input.status);
    changes.status = input.status;
  }
  if (input.description !== undefined) changes.description = input.description;
  if (Object.keys(changes).length === 0) return caView(ca);
  const now = deps.now();
  // The audit record commits with the change (issue 6).
  await changeTransaction(deps, { call }, async (tx) => {
    // Disabling: what the CA is signing now is stored before, or refused (revoke.ts).
    if (changes.status === "DISABLED" && ca.status !== "DISABLED") await tx.cas.lockSigning(ca.id);
    // Enabling: under the signing locks a revocation of this CA or of any CA above it takes
    // (its walk down reaches this one), the path is read again. A revocation that holds them
    // commits first and is seen (CA_REVOKED); one that comes after waits for this commit, then
    // disables this CA with the others below it. Until stop 45 of 2026-12-06 an enable that
    // had read the path just before a parent's revocation committed wrote ACTIVE just after
    // it, and the CA went on signing under a parent revoked for key compromise (an outside
    // probe, two replicas: 10 of 28 rounds).
    if (changes.status === "ACTIVE" && ca.status !== "ACTIVE") {
      await tx.cas.lockSigning(ca.id);
      const current = await tx.cas.find({ id: ca.id });
      if (current) await checkStatusChange(tx.cas, current, "ACTIVE");
    }
    const updated = await tx.cas.update(
      { id: ca.id, version: ca.version },
      { ...changes, version: ca.version + 1, updatedAt: now },
    );
    if (!updated) {
      throw new CertmintError(
        "aborted",
        "CONCURRENT_UPDATE",
        `certificate authority "${ca.slug}" changed meanwhile; read it again and retry`,
      );
    }
    const before = Object.fromEntries(
      Object.keys(changes).map((k) => [k, ca[k as keyof typeof ca]]),
    );
    await tx.audit.insert(
      changeRecord(
        call,
        { type: "certificate_authority", id: ca.id },
        now,
        undefined,
        updatedFields(before, changes),
      ),
    );
  });
  return caView(
    stillThere(await deps.store.cas.find({ id: ca.id }), {
      what: "certificate authority",
      ref: ca.slug,
    }),
  );
}

/** ACTIVE or DISABLED only; never for a CA without its certificate, nor a revoked one. */
async function checkStatusChange(
  cas: Pick<CaRepository, "find">,
  ca: CertificateAuthority,
  status: string,
): Promise<void> {
  if (status !== "ACTIVE" && status !== "DISABLED") {
    throw invalidField(
      "CA_STATUS_INVALID",
      "status can be set to ACTIVE or DISABLED only",
      "certificate_authority.status",
      "ACTIVE or DISABLED",
    );
  }
  if (ca.status === "PENDING_CERTIFICATE") {
    throw failedPrecondition(
      "CA_PENDING_CERTIFICATE",
      `certificate authority "${ca.slug}" has no certificate yet; import it first`,
      {
        preconditions: [
          {
            type: "CA_STATUS",
            subject: `certificate_authorities/${ca.slug}`,
            description: "status is PENDING_CERTIFICATE",
          },
        ],
      },
    );
  }
  // Revocation is final: a revoked CA, or one below it, stays disabled.
  const revoked = status === "ACTIVE" ? await revokedAbove(cas, ca) : undefined;
  if (revoked) {
    throw failedPrecondition(
      "CA_REVOKED",
      revoked.id === ca.id
        ? `certificate authority "${ca.slug}" was revoked and cannot be enabled again`
        : `certificate authority "${ca.slug}" is below the revoked CA "${revoked.slug}" and cannot be enabled again`,
      {
        preconditions: [
          {
            type: "CA_REVOKED",
            subject: `certificate_authorities/${revoked.slug}`,
            description: `revoked at ${revoked.revokedAt!.toISOString()}`,
          },
        ],
      },
    );
  }
}
