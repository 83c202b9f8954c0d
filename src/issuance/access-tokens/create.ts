import {
  alreadyExists,
  CertmintError,
  type FieldViolation,
  failedPrecondition,
  fieldViolation,
  invalidArgument,
  notFound,
  withArticle,
} from "../../errors";
import { parseCertificate } from "../../signer";
import { createdFields } from "../audit/changes";
import { changeRecord } from "../audit/record";
import { refuseRevokedCa } from "../ca/revoke";
import { type Call, PROFILE_SCOPED_ROLES, type Role } from "../call";
import { lineVouchers } from "../certificates/credential-lifetime";
import { newRowId } from "../common/ids";
import { checkSlug, referenceNotFound, resolveRef } from "../common/refs";
import { DEFAULT_GENERATED_KEY_REPLAY_SECONDS } from "../deps";
import {
  type AccessTokenRepository,
  type AccessTokenView,
  type AuditRepository,
  type CaRepository,
  type ProfileRepository,
  type StoreWith,
  UniqueConflict,
} from "../repositories";
import {
  type CheckedBinding,
  type ClientCertificateBinding,
  checkRequestedBinding,
  type RequestedBinding,
} from "./binding";
import { requireCallerInForce } from "./caller";
import { creatorLifetime, expiryWithin, ttlPastCreator } from "./lifetime";
import {
  derivedTokenSecret,
  newSecretSalt,
  replayedSecret,
  type TokenKeyring,
  type TokenWithRequest,
  tokenIdForRequest,
  tokenRequestFingerprint,
  tokenView,
} from "./request-id";
import { hashTokenSecret, newTokenSecret } from "./secret";

/**
 * Tokens live 90 days unless the request says otherwise, at most ten years, and never past
 * the token that creates them (lifetime.ts: an explicit ttl past it is refused, the default is
 * cut to it).
 */
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
  /**
   * Idempotency key of the creator (request-id.ts): a retry gets the same token and secret.
   * Checked by the API layer (1-128 printable characters).
   */
  requestId?: string;
}

export interface CreatedAccessToken {
  token: AccessTokenView;
  /** The bearer secret, returned once; undefined for a client certificate binding. */
  secret?: string;
}

export interface CreateAccessTokenDeps {
  store: StoreWith<{
    tokens: Pick<
      AccessTokenRepository,
      "insert" | "find" | "lockCaller" | "lockVouchers" | "lockBindingCa" | "lockListedProfiles"
    >;
    profiles: Pick<ProfileRepository, "find">;
    cas: Pick<CaRepository, "find" | "withCertificates">;
    audit: Pick<AuditRepository, "insert">;
  }>;
  now: () => Date;
  /** Derives the id and secret of a token made with a request_id; needed only then. */
  keyring?: TokenKeyring;
  /** How long a retry gets the secret again (request-id.ts); DEFAULT_GENERATED_KEY_REPLAY_SECONDS when unset. */
  generatedKeyReplaySeconds?: number;
}

/**
 * CreateAccessToken. Every problem with the request is reported at once; the secret is made
 * here, returned once, and only its SHA-256 is stored (secret.ts). With a request_id, a retry
 * returns the same token and secret (request-id.ts).
 */
export async function createAccessToken(
  deps: CreateAccessTokenDeps,
  call: Call,
  input: NewAccessTokenInput,
): Promise<CreatedAccessToken> {
  // 1. The request, every problem at once; an explicit ttl against its creator's expiry too.
  const creator = await creatorLifetime(deps.store, call);
  const pastCreator =
    input.ttlSeconds === undefined
      ? undefined
      : ttlPastCreator(input.ttlSeconds, creator, deps.now());
  const binding = checkNewToken(input, pastCreator);
  const ttl = input.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  // 2. What it names: its profiles, its binding's CA.
  const profileIds = await resolveProfiles(deps.store, input.profiles);
  const bound = binding && (await resolveBindingCa(deps.store, binding));
  const now = deps.now();
  const request = input.requestId
    ? {
        requestId: input.requestId,
        fingerprint: tokenRequestFingerprint({
          slug: input.slug,
          description: input.description,
          role: input.role!,
          profileIds,
          binding: bound
            ? { type: bound.type, value: bound.value, caId: bound.caId, caSha256: bound.caSha256 }
            : null,
          ttlSeconds: ttl,
        }),
      }
    : undefined;
  const keyring = deps.keyring;
  if (request && !keyring) throw new Error("createAccessToken: a request_id needs the keyring");
  const id = request ? tokenIdForRequest(keyring!, input.creatorId, request.requestId) : newRowId();
  // 3. A retry of a request_id: the token it made, and its secret again.
  const replay = async () => {
    const prior = request && ((await deps.store.tokens.find({ id })) as TokenWithRequest | null);
    if (!prior) return undefined;
    // Its secret goes only to a creator still in force (caller.ts), as a new token would.
    await requireCallerInForce(deps.store, call, deps.now());
    const replaySeconds = deps.generatedKeyReplaySeconds ?? DEFAULT_GENERATED_KEY_REPLAY_SECONDS;
    const secret = replayedSecret(keyring!, prior, request!, now, replaySeconds);
    // Recorded as a call that changed nothing, naming the token it returned.
    await deps.store.audit.insert(changeRecord(call, { type: "access_token", id }, now));
    return { token: tokenView(prior), secret };
  };
  const replayed = await replay();
  if (replayed) return replayed;
  // Alone, after the replay: a retry of a request_id that made its token gets it back however
  // little of its creator's life is left by now; the request itself did not change.
  if (pastCreator) throw tokenRefusal([pastCreator]);
  // 4. The token, its secret's hash only, with its audit record.
  const salt = request && !bound ? newSecretSalt() : undefined;
  const secret = bound
    ? undefined
    : salt
      ? derivedTokenSecret(keyring!, id, salt)
      : newTokenSecret();
  const token: TokenWithRequest = {
    id,
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
    // Made over a client certificate certmint issued: the tokens that certificate rests on
    // (credential-lifetime.ts), whose line's cut takes this token too.
    vouchedBy: lineVouchers(call.actor),
    createdAt: now,
    // Cut to the creator's: the default ttl past it, or the moments since it was checked.
    expiresAt: expiryWithin(now, ttl, creator),
    revokedAt: null,
    requestFingerprint: request?.fingerprint ?? null,
    secretSalt: salt ?? null,
  };
  try {
    await deps.store.transaction(async (tx) => {
      // The creator as committed, held until this insert commits (caller.ts): a revoked or
      // expired token makes no token, however long ago it was authenticated.
      await requireCallerInForce(tx, call, deps.now());
      if (bound?.caId) await holdBindingCa(tx, bound.caId, !binding?.sha256);
      // Its profiles, held until it commits: a DeleteCertificateProfile either finishes first
      // (NOT_FOUND here, nothing made) or waits and then takes the profile off this token too.
      // Read before only, until stop 50 of 2026-12-06 a token made during the deletion kept
      // the deleted profile's id (an outside probe: 1-4 of 10 rounds).
      const held = await tx.tokens.lockListedProfiles(profileIds);
      const gone = profileIds.find((p) => !held.includes(p));
      if (gone !== undefined) {
        const e = referenceNotFound(
          "certificate profile",
          input.profiles[profileIds.indexOf(gone)] ?? gone,
        );
        throw new CertmintError(e.kind, e.reason, `${e.message} (deleted meanwhile)`);
      }
      await tx.tokens.insert(token);
      await tx.audit.insert(
        changeRecord(
          call,
          { type: "access_token", id: token.id },
          now,
          undefined,
          createdFields(token, ["requestFingerprint"]),
        ),
      );
    });
  } catch (err) {
    // Two calls with one request_id at once: the first insert won (its id, or its slug), and
    // this one answers as its retry.
    const lost = request && (await replay());
    if (lost) return lost;
    if (err instanceof UniqueConflict) throw taken(err.key, input.slug, bound);
    throw err;
  }
  return { token: tokenView(token), secret };
}

/**
 * Holds the row of the CA a binding names (FOR KEY SHARE) until the token's insert commits, so
 * DeleteCertificateAuthority, which counts the tokens bound to it under its FOR UPDATE, either
 * finishes first (and the binding is refused here, NOT_FOUND) or sees the token (CA_IN_USE).
 * Checked before only, an outside probe of stop 45 (2026-12-06, F7) got tokens in force bound
 * to a CA deleted in between. A CA named by reference is checked for revocation again, as its
 * row is now (its revocation also takes it FOR UPDATE).
 */
async function holdBindingCa(
  tx: {
    tokens: Pick<AccessTokenRepository, "lockBindingCa">;
    cas: Pick<CaRepository, "find">;
  },
  caId: string,
  byReference: boolean,
): Promise<void> {
  const ca = (await tx.tokens.lockBindingCa(caId)) ? await tx.cas.find({ id: caId }) : null;
  if (!ca) {
    throw notFound(
      "CERTIFICATE_AUTHORITY_NOT_FOUND",
      "the certificate authority of the client certificate binding was deleted while the access token was created; nothing was stored",
    );
  }
  if (byReference) await refuseRevokedCa(tx.cas, ca, "a client certificate binding");
}

function taken(key: string, slug: string, bound: ClientCertificateBinding | undefined) {
  if (key === "slug") {
    return alreadyExists("ACCESS_TOKEN_SLUG_TAKEN", `an access token "${slug}" already exists`);
  }
  return alreadyExists(
    "CLIENT_IDENTITY_TAKEN",
    `an active access token already binds ${bound?.type.toLowerCase().replace("_", " ")} "${bound?.value}" from that CA; revoke it first`,
  );
}

/** Slug, role and profiles, binding and lifetime: INVALID_ARGUMENT with every problem. */
function checkNewToken(
  input: NewAccessTokenInput,
  /** The ttl's violation of its creator's expiry: reported here with any other problem. */
  pastCreator: FieldViolation | undefined,
): CheckedBinding | undefined {
  checkSlug(input.slug, "access_token.slug");
  const problems: FieldViolation[] = [];
  const role = input.role;
  const scoped = role !== undefined && PROFILE_SCOPED_ROLES.includes(role);
  if (!role) {
    problems.push(
      fieldViolation(
        "access_token.role",
        "ROLE_MISSING",
        "choose ROLE_ADMIN, ROLE_ISSUER, ROLE_APPROVER or ROLE_AUDITOR",
      ),
    );
  } else if (scoped && input.profiles.length === 0) {
    problems.push(
      fieldViolation(
        "access_token.certificate_profiles",
        "PROFILES_REQUIRED",
        `${withArticle(role.toLowerCase())} token acts on the profiles it lists: name at least one`,
      ),
    );
  } else if (!scoped && input.profiles.length > 0) {
    problems.push(
      fieldViolation(
        "access_token.certificate_profiles",
        "PROFILES_NOT_ALLOWED",
        `${withArticle(role.toLowerCase())} token acts on every profile: leave this empty`,
      ),
    );
  }
  const binding = checkRequestedBinding(input, problems);
  const ttl = input.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  if (ttl < 60 || ttl > MAX_TOKEN_TTL_SECONDS) {
    problems.push(fieldViolation("ttl", "TOKEN_TTL_INVALID", "between 60 seconds and 3650 days"));
  } else if (pastCreator && problems.length > 0) {
    problems.push(pastCreator);
  }
  if (problems.length > 0) throw tokenRefusal(problems);
  return binding;
}

/** INVALID_ARGUMENT for a new token's problems, each a BadRequest field violation. */
function tokenRefusal(problems: FieldViolation[]): CertmintError {
  // A lone violation's reason is the ErrorInfo's, as the proto names them (e.g.
  // CLIENT_IDENTITY_AMBIGUOUS; until stop 50 of 2026-12-06 always ACCESS_TOKEN_INVALID).
  return invalidArgument(
    problems.length === 1
      ? (problems[0]!.reason ?? "ACCESS_TOKEN_INVALID")
      : "ACCESS_TOKEN_INVALID",
    `the access token is not valid: ${problems.map((p) => `${p.field}: ${p.description}`).join("; ")}`,
    { violations: problems },
  );
}

async function resolveProfiles(
  store: { profiles: Pick<ProfileRepository, "find"> },
  refs: string[],
): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, ref] of refs.entries()) {
    const profile = await resolveRef(
      ref,
      "certificate profile",
      `access_token.certificate_profiles[${i}]`,
      (k) => store.profiles.find(k),
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
  store: { cas: Pick<CaRepository, "find" | "withCertificates"> },
  binding: CheckedBinding,
): Promise<ClientCertificateBinding> {
  const { type, value } = binding;
  if (binding.sha256) {
    const caId = await certmintCaWithFingerprint(store.cas, binding.sha256);
    return { type, value, caId, caSha256: binding.sha256 };
  }
  const ca = await resolveRef(
    binding.caRef,
    "certificate authority",
    "access_token.client_certificate_binding.certificate_authority",
    (k) => store.cas.find(k),
  );
  await refuseRevokedCa(store.cas, ca, "a client certificate binding");
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
  cas: Pick<CaRepository, "withCertificates">,
  sha256: string,
): Promise<string | null> {
  const all = await cas.withCertificates();
  return (
    all.find((ca) => parseCertificate(ca.certificatePem!).fingerprintSha256 === sha256)?.id ?? null
  );
}
