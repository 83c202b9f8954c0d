import { randomUUID } from "node:crypto";
import type { EntityManager, MikroORM } from "@mikro-orm/postgresql";
import { alreadyExists, type FieldViolation, invalidArgument } from "../../errors";
import {
  AccessTokenEntity,
  type AccessTokenRow,
  CertificateProfileEntity,
} from "../../store/entities";
import { recordAudit } from "../audit/record";
import { PROFILE_SCOPED_ROLES, type Role } from "../call-scope";
import { checkSlug, findByRef } from "../common/refs";
import { hasControlCharacters } from "../common/text";
import { isUniqueViolation } from "../common/unique-violation";
import { hashTokenSecret, newTokenSecret } from "./secret";

/** Tokens live 90 days unless the request says otherwise, at most ten years. */
export const DEFAULT_TOKEN_TTL_SECONDS = 90 * 86_400;
export const MAX_TOKEN_TTL_SECONDS = 3650 * 86_400;
const MAX_IDENTITY_LENGTH = 1024;

export interface NewAccessTokenInput {
  slug: string;
  description: string;
  role: Role | undefined;
  /** Profile references (id or slug) for ISSUER and APPROVER. */
  profiles: string[];
  /** Set for a client certificate binding; empty for a bearer token. */
  clientCertificateIdentity: string;
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
    problems.push({
      field: "access_token.role",
      description: "choose ROLE_ADMIN, ROLE_ISSUER, ROLE_APPROVER or ROLE_AUDITOR",
      reason: "ROLE_MISSING",
    });
  } else if (PROFILE_SCOPED_ROLES.includes(input.role) && input.profiles.length === 0) {
    problems.push({
      field: "access_token.certificate_profiles",
      description: `a ${input.role.toLowerCase()} token acts on the profiles it lists: name at least one`,
      reason: "PROFILES_REQUIRED",
    });
  } else if (!PROFILE_SCOPED_ROLES.includes(input.role) && input.profiles.length > 0) {
    problems.push({
      field: "access_token.certificate_profiles",
      description: `a ${input.role.toLowerCase()} token acts on every profile: leave this empty`,
      reason: "PROFILES_NOT_ALLOWED",
    });
  }
  const identity = input.clientCertificateIdentity;
  if (
    identity !== "" &&
    (identity.trim() !== identity ||
      identity.length > MAX_IDENTITY_LENGTH ||
      hasControlCharacters(identity))
  ) {
    problems.push({
      field: "access_token.client_certificate_identity",
      description: `at most ${MAX_IDENTITY_LENGTH} printable characters, no surrounding spaces`,
      reason: "CLIENT_IDENTITY_INVALID",
    });
  }
  const ttl = input.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  if (ttl < 60 || ttl > MAX_TOKEN_TTL_SECONDS) {
    problems.push({
      field: "ttl",
      description: "between 60 seconds and 3650 days",
      reason: "TOKEN_TTL_INVALID",
    });
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
  const secret = identity === "" ? newTokenSecret() : undefined;
  const now = deps.now();
  const row: AccessTokenRow = {
    id: randomUUID(),
    slug: input.slug,
    description: input.description,
    role: input.role!,
    profileIds,
    secretHash: secret ? hashTokenSecret(secret) : null,
    clientIdentity: identity === "" ? null : identity,
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
    if (isUniqueViolation(err, "access_token_client_identity_key")) {
      throw alreadyExists(
        "CLIENT_IDENTITY_TAKEN",
        `another access token is already bound to client certificate identity "${identity}"`,
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
