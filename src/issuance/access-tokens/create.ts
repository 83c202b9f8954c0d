import { randomUUID } from "node:crypto";
import type { EntityManager, MikroORM } from "@mikro-orm/postgresql";
import {
  alreadyExists,
  type FieldViolation,
  failedPrecondition,
  fieldViolation,
  invalidArgument,
} from "../../errors";
import { parseCertificate } from "../../signer";
import {
  AccessTokenEntity,
  type AccessTokenRow,
  CertificateAuthorityEntity,
  CertificateProfileEntity,
} from "../../store/entities";
import { recordAudit } from "../audit/record";
import { PROFILE_SCOPED_ROLES, type Role } from "../call-scope";
import { checkSlug, findByRef } from "../common/refs";
import { isUniqueViolation } from "../common/unique-violation";
import {
  type CheckedBinding,
  type ClientCertificateBinding,
  checkRequestedBinding,
  type RequestedBinding,
} from "./binding";
import { hashTokenSecret, newTokenSecret } from "./secret";

/** Tokens live 90 days unless the request says otherwise, at most ten years. */
export const DEFAULT_TOKEN_TTL_SECONDS = 90 * 86_400;
export const MAX_TOKEN_TTL_SECONDS = 3650 * 86_400;

export interface NewAccessTokenInput {
  slug: string;
  description: string;
  role: Role | undefined;
  /** Profile references (id or slug) for ISSUER and APPROVER. */
  profiles: string[];
  /** Set for a client certificate binding; undefined for a bearer token. */
  binding?: RequestedBinding;
  /**
   * The deprecated client_certificate_identity: it no longer says which certificate field it
   * names, so it is refused unless the binding is given with the same value.
   */
  legacyIdentity?: string;
  ttlSeconds?: number;
  /** The token that creates it; null for the first admin token. */
  creatorId: string | null;
}

export interface CreatedAccessToken {
  row: AccessTokenRow;
  /** The bearer secret, returned once; undefined for a client certificate binding. */
  secret?: string;
}

/**
 * Creates an access token. Every problem with the request is reported at once; the secret is
 * made here, returned once, and only its SHA-256 is stored (src/auth/token-secret.ts).
 */
export async function createAccessToken(
  deps: { orm: MikroORM; now: () => Date },
  input: NewAccessTokenInput,
): Promise<CreatedAccessToken> {
  checkSlug(input.slug, "access_token.slug");
  const problems: FieldViolation[] = [];
  if (!input.role) {
    problems.push(
      fieldViolation(
        "access_token.role",
        "ROLE_MISSING",
        "choose ROLE_ADMIN, ROLE_ISSUER, ROLE_APPROVER or ROLE_AUDITOR",
      ),
    );
  } else if (PROFILE_SCOPED_ROLES.includes(input.role) && input.profiles.length === 0) {
    problems.push(
      fieldViolation(
        "access_token.certificate_profiles",
        "PROFILES_REQUIRED",
        `a ${input.role.toLowerCase()} token acts on the profiles it lists: name at least one`,
      ),
    );
  } else if (!PROFILE_SCOPED_ROLES.includes(input.role) && input.profiles.length > 0) {
    problems.push(
      fieldViolation(
        "access_token.certificate_profiles",
        "PROFILES_NOT_ALLOWED",
        `a ${input.role.toLowerCase()} token acts on every profile: leave this empty`,
      ),
    );
  }
  const binding = checkRequestedBinding(input, problems);
  const ttl = input.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  if (ttl < 60 || ttl > MAX_TOKEN_TTL_SECONDS) {
    problems.push(fieldViolation("ttl", "TOKEN_TTL_INVALID", "between 60 seconds and 3650 days"));
  }
  if (problems.length > 0) {
    throw invalidArgument(
      "ACCESS_TOKEN_INVALID",
      `the access token is not valid: ${problems.map((p) => `${p.field}: ${p.description}`).join("; ")}`,
      { violations: problems },
    );
  }
  const em = deps.orm.em.fork();
  const profileIds = await resolveProfiles(em, input.profiles);
  const bound = binding && (await resolveBindingCa(em, binding));
  const secret = bound ? undefined : newTokenSecret();
  const now = deps.now();
  const row: AccessTokenRow = {
    id: randomUUID(),
    slug: input.slug,
    description: input.description,
    role: input.role!,
    profileIds,
    secretHash: secret ? hashTokenSecret(secret) : null,
    clientIdentity: bound?.value ?? null,
    clientIdentityType: bound?.type ?? null,
    clientCaId: bound?.caId ?? null,
    clientCaSha256: bound?.caSha256 ?? null,
    creatorId: input.creatorId,
    createdAt: now,
    expiresAt: new Date(now.getTime() + ttl * 1000),
    revokedAt: null,
  };
  try {
    await em.transactional(async (tx: EntityManager) => {
      await tx.insert(AccessTokenEntity, row);
      await recordAudit(tx, { type: "access_token", id: row.id }, now);
    });
  } catch (err) {
    if (isUniqueViolation(err, "access_token_slug_key")) {
      throw alreadyExists(
        "ACCESS_TOKEN_SLUG_TAKEN",
        `an access token "${input.slug}" already exists`,
      );
    }
    if (isUniqueViolation(err, "access_token_client_binding_key")) {
      throw alreadyExists(
        "CLIENT_IDENTITY_TAKEN",
        `an active access token already binds ${bound?.type.toLowerCase().replace("_", " ")} "${bound?.value}" from that CA; revoke it first`,
      );
    }
    throw err;
  }
  return { row, secret };
}

async function resolveProfiles(em: EntityManager, refs: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, ref] of refs.entries()) {
    const profile = await findByRef(
      em,
      CertificateProfileEntity,
      ref,
      "certificate profile",
      `access_token.certificate_profiles[${i}]`,
    );
    if (!ids.includes(profile.id)) ids.push(profile.id);
  }
  return ids;
}

/**
 * The CA of a binding: a certmint CA by reference (it must have its certificate), or an outside
 * CA by the SHA-256 of its certificate (a certmint CA's own fingerprint is recognised as it).
 */
async function resolveBindingCa(
  em: EntityManager,
  binding: CheckedBinding,
): Promise<ClientCertificateBinding> {
  const { type, value } = binding;
  if (binding.sha256) {
    const caId = await certmintCaWithFingerprint(em, binding.sha256);
    return { type, value, caId, caSha256: binding.sha256 };
  }
  const ca = await findByRef(
    em,
    CertificateAuthorityEntity,
    binding.caRef,
    "certificate authority",
    "access_token.client_certificate_binding.certificate_authority",
  );
  if (!ca.certificatePem) {
    throw failedPrecondition(
      "CA_HAS_NO_CERTIFICATE",
      `certificate authority "${ca.slug}" has no certificate yet (import it first); a binding needs the certificate that issues client certificates`,
      {
        preconditions: [
          {
            type: "CA_STATUS",
            subject: `certificate_authorities/${ca.slug}`,
            description: "no certificate",
          },
        ],
      },
    );
  }
  return {
    type,
    value,
    caId: ca.id,
    caSha256: parseCertificate(ca.certificatePem).fingerprintSha256,
  };
}

async function certmintCaWithFingerprint(
  em: EntityManager,
  sha256: string,
): Promise<string | null> {
  const cas = await em.find(
    CertificateAuthorityEntity,
    { certificatePem: { $ne: null } },
    { fields: ["id", "certificatePem"] },
  );
  return (
    cas.find((ca) => parseCertificate(ca.certificatePem!).fingerprintSha256 === sha256)?.id ?? null
  );
}
