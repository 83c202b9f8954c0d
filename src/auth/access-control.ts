import type { Metadata } from "@grpc/grpc-js";
import { CertmintError, permissionDenied } from "../errors";
import { type AuditOutcome, type AuditResource, auditRecordOf } from "../issuance/audit/record";
import type { Actor, Call } from "../issuance/call";
import type { AuditRepository } from "../issuance/repositories";
import type { CredentialChanges } from "../store/credential-changes";
import type { Authenticator } from "./authenticator";
import type { PeerIdentity } from "./peer-identity";
import { ruleFor } from "./permissions";
import type { RateLimit } from "./rate-limiter";

/**
 * What the API layer asks of security for every call (src/api/unary.ts), in this order:
 * authenticate, admit, authorize. Admission (the per-token rate limit) comes before
 * authorization and before any audit record, so refused calls cost their caller's budget
 * like any other: a flood of PERMISSION_DENIED calls is limited, and writes at most a burst of
 * audit records.
 */
export interface CallSecurity {
  /**
   * The caller, or UNAUTHENTICATED; RESOURCE_EXHAUSTED once `address` (grpc-js getPeer()) has
   * failed authentication too often.
   */
  authenticate(metadata: Metadata, peer: PeerIdentity | undefined, address: string): Promise<Actor>;
  /**
   * Takes one call from the actor's rate limit: RESOURCE_EXHAUSTED when it is spent. A Promise
   * only when the limit is kept by the supervisor and the worker must ask it (CERTMINT_PROCESSES
   * > 1); callers await only then, so a single process pays nothing for it.
   */
  admit(actor: Actor): void | Promise<void>;
  /** Whether the actor's role may call the method: PERMISSION_DENIED. */
  authorize(method: string, actor: Actor): void;
  /** Records a mutating call whose use case did not (a refusal, mostly). */
  /**
   * `resource.key`: a slug or a serial (stored form) the call named its resource by, looked up
   * to record the resource's id instead (refusal-resource.ts).
   */
  recordOutcome(
    scope: Call,
    outcome: AuditOutcome,
    resource?: AuditResource & { key?: string },
  ): Promise<void>;
  /**
   * Holds an open stream to the credential it authenticated with: `end` gets the refusal a call
   * would now get as soon as this process learns that the credential is no longer in force
   * (Authenticator.holdStream). Returns what lets go. Optional: without it (a test double) a
   * stream ends at its next message's check.
   */
  holdStream?(
    metadata: Metadata,
    peer: PeerIdentity | undefined,
    actor: Actor,
    end: (err: CertmintError) => void,
  ): () => void;
  /** Drops a revoked token from the authentication cache (and ends its open streams). */
  forgetCredential(tokenId: string): void;
  /** A token was created: cached refusals may be out of date. */
  tokenCreated(): void;
  /** Whether the call's own record (written with its change) is in the database. */
  auditRecordCommitted(scope: Call): Promise<boolean>;
}

/** Authentication (tokens, client certificates), the role table and the per-identity rate limit. */
export class AccessControl implements CallSecurity {
  constructor(
    private readonly audit: Pick<AuditRepository, "insert" | "exists" | "resourceIdOf">,
    private readonly authenticator: Authenticator,
    private readonly rateLimiter: RateLimit,
    /** Tells the other server processes (store/credential-changes.ts). */
    private readonly changes?: Pick<CredentialChanges, "announce">,
  ) {}

  authenticate(
    metadata: Metadata,
    peer: PeerIdentity | undefined,
    address: string,
  ): Promise<Actor> {
    return this.authenticator.authenticate(metadata, peer, address);
  }

  holdStream(
    metadata: Metadata,
    peer: PeerIdentity | undefined,
    actor: Actor,
    end: (err: CertmintError) => void,
  ): () => void {
    return this.authenticator.holdStream(metadata, peer, actor, end);
  }

  admit(actor: Actor): void | Promise<void> {
    const wait = this.rateLimiter.take(actor.id);
    if (typeof wait !== "number") return wait.then((w) => refuseOverRate(actor, w));
    refuseOverRate(actor, wait);
  }

  authorize(method: string, actor: Actor): void {
    const rule = ruleFor(method);
    if (!rule.roles.includes(actor.role)) {
      const name = method.split("/").at(-1);
      throw permissionDenied(
        "ROLE_NOT_ALLOWED",
        rule.roles.length === 0
          ? `${name} is not open to any role`
          : `access token "${actor.slug}" has role ${actor.role.toLowerCase()}; ${name} needs ${rule.roles.map((r) => r.toLowerCase()).join(" or ")}`,
        { metadata: { access_token: actor.slug, role: actor.role } },
      );
    }
  }

  async recordOutcome(
    scope: Call,
    outcome: AuditOutcome,
    resource?: AuditResource & { key?: string },
  ): Promise<void> {
    // A reference by slug or serial is recorded as the id of the object it names, when one
    // does: the trail of one object is found by its id, as its successful changes are
    // (refusal-resource.ts). Until stop 50 of 2026-12-06 it kept the text sent (an outside
    // probe: a refused deletion by slug was missing from the policy's trail by id).
    const id = resource?.key
      ? ((await this.audit.resourceIdOf(resource.type, resource.key)) ?? resource.id)
      : resource?.id;
    const named = resource && id !== undefined ? { type: resource.type, id } : undefined;
    await this.audit.insert(auditRecordOf(scope, named, outcome, new Date()));
  }

  async auditRecordCommitted(scope: Call): Promise<boolean> {
    return scope.auditRecordId !== undefined && (await this.audit.exists(scope.auditRecordId));
  }

  forgetCredential(tokenId: string): void {
    this.authenticator.forget(tokenId);
    this.changes?.announce({ kind: "token-revoked", tokenId });
  }

  tokenCreated(): void {
    this.authenticator.tokenCreated();
    this.changes?.announce({ kind: "token-created" });
  }
}

function refuseOverRate(actor: Actor, wait: number): void {
  if (wait > 0) {
    throw new CertmintError(
      "resource_exhausted",
      "RATE_LIMITED",
      `access token "${actor.slug}" is over its rate limit; retry in ${Math.ceil(wait * 1000)} ms`,
      { retryAfterSeconds: Math.max(1, Math.ceil(wait)), metadata: { access_token: actor.slug } },
    );
  }
}
