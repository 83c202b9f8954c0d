import { AsyncLocalStorage } from "node:async_hooks";
import { CertmintError, permissionDenied } from "../errors";

/** The four roles a token grants (proto certmint.v1.Role; the permission table is src/auth/permissions.ts). */
export const ROLES = ["ADMIN", "ISSUER", "APPROVER", "AUDITOR"] as const;
export type Role = (typeof ROLES)[number];

/** Roles whose access is limited to the profiles listed on their token. */
export const PROFILE_SCOPED_ROLES: readonly Role[] = ["ISSUER", "APPROVER"];

/** Who makes a call: the access token that authenticated it. */
export interface Actor {
  readonly id: string;
  readonly slug: string;
  readonly role: Role;
  /** For ISSUER and APPROVER: the only profiles the actor may act on. */
  readonly profileIds: readonly string[];
}

/**
 * What the use cases know of the gRPC call they serve: its actor (for per-profile access
 * checks) and what its audit record needs. Set by the API layer (src/api/unary.ts) for the
 * duration of one call, through AsyncLocalStorage so the use cases below need no extra
 * parameter to write the audit record inside their own transaction.
 */
export interface CallScope {
  readonly actor: Actor;
  /** Full RPC name, e.g. "/certmint.v1.CertificateService/IssueCertificate". */
  readonly method: string;
  readonly requestId: string;
  readonly peer: string;
  /** Set once the call's audit record is written in the transaction of its change. */
  audited: boolean;
  /** The id of that record (the API layer checks it committed before recording a failure). */
  auditRecordId?: string;
  /** The gRPC status code an error reaches the caller with (src/api/errors.ts codeOf). */
  readonly statusCodeOf?: (err: unknown) => number;
  /** True once the caller cancelled or its deadline passed: nobody waits for the answer. */
  readonly abandoned?: () => boolean;
  /** When the caller stops waiting, if it set a deadline (bounds waits for another call). */
  readonly deadline?: Date;
  /** Aborted at that moment, for work that waits (a key queued for generation is dropped). */
  readonly signal?: AbortSignal;
}

const storage = new AsyncLocalStorage<CallScope>();

export function runInCallScope<T>(scope: CallScope, fn: () => Promise<T>): Promise<T> {
  return storage.run(scope, fn);
}

/** The scope of the call being served; undefined outside a gRPC call (start-up, tests). */
export function currentCallScope(): CallScope | undefined {
  return storage.getStore();
}

/**
 * Refuses (DEADLINE_EXCEEDED) to start a write the caller no longer waits for. Called before
 * the first write of a call, so an abandoned call leaves nothing behind.
 */
export function refuseIfAbandoned(): void {
  if (currentCallScope()?.abandoned?.()) {
    throw new CertmintError(
      "deadline_exceeded",
      "DEADLINE_EXCEEDED",
      "the call's deadline passed (or the caller cancelled) before certmint wrote anything",
    );
  }
}

/** Whether the calling actor may act on this profile (always, outside a gRPC call). */
export function mayActOnProfile(profileId: string | null): boolean {
  const actor = currentCallScope()?.actor;
  if (!actor || !PROFILE_SCOPED_ROLES.includes(actor.role)) return true;
  return profileId !== null && actor.profileIds.includes(profileId);
}

/**
 * Refuses (PERMISSION_DENIED) when the calling issuer or approver may not act on this
 * profile. Called by the use cases as soon as they know the profile, before they write
 * anything, so a refusal leaves no trace but its audit record. Admins and auditors act on
 * every profile (the method-level check in src/auth/permissions.ts decides what they may call).
 */
export function requireProfileAccess(profile: { id: string | null; slug: string }): void {
  if (mayActOnProfile(profile.id)) return;
  const actor = currentCallScope()!.actor;
  throw permissionDenied(
    "PROFILE_NOT_GRANTED",
    `access token "${actor.slug}" (${actor.role.toLowerCase()}) may not act on certificate profile "${profile.slug}"; an admin can create a token that lists it`,
    { metadata: { certificate_profile: profile.slug, access_token: actor.slug } },
  );
}
