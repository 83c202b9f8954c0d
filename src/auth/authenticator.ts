import type { Metadata } from "@grpc/grpc-js";
import { type CertmintError, isCertmintError, unauthenticated } from "../errors";
import { hashTokenSecret, TOKEN_PATTERN } from "../issuance/access-tokens/secret";
import type { Actor } from "../issuance/call";
import { earliest } from "../issuance/certificates/credential-lifetime";
import type { AccessTokenRepository, CertificateRepository } from "../issuance/repositories";
import { parseCertificate } from "../signer";
import type { CaDirectory } from "./ca-directory";
import { type Credential, creatorExpired, resolveClientCertificate } from "./client-certificates";
import type { AuthFailureLimit } from "./failure-limiter";
import { type CheckedCredential, OpenStreams } from "./open-streams";
import type { PeerIdentity } from "./peer-identity";
import { TtlCache } from "./ttl-cache";

/** How long credentials, refusals and certificate revocation states are cached per process. */
export const CREDENTIAL_CACHE_MS = 5_000;
const CACHE_ENTRIES = 10_000;
/**
 * How long a credential that authenticated stays known: while its address is over the failure
 * limit, a known credential is still looked up (one lookup per CREDENTIAL_CACHE_MS at most, as
 * usual), and only unknown ones are refused unread.
 */
export const KNOWN_CREDENTIAL_MS = 24 * 3_600_000;

/**
 * Turns a call's credentials into its Actor, or refuses with UNAUTHENTICATED. A bearer token
 * in `authorization` wins over a client certificate; without either the call is refused.
 *
 * Rows are cached for CREDENTIAL_CACHE_MS (a database round trip per call would cost the
 * issuance hot path about a tenth of its throughput); expiry is checked on every call, and a
 * revocation through this process evicts at once (forget). Refusals are cached as long
 * (a bounded negative cache of unknown token hashes and unbound certificates), so repeating a
 * bad credential costs no database round trip; creating a token clears it. Another certmint
 * process sharing the database sees a revocation or a new token within that time.
 *
 * Every refusal counts against the caller's address (FailureLimiter): past its limit the
 * caller gets RESOURCE_EXHAUSTED, and a credential that is in no cache is not looked up.
 */
export class Authenticator {
  /** By "s:<secret hash>" and "c:<certificate fingerprint>". */
  private readonly credentials = new TtlCache<Credential>(CREDENTIAL_CACHE_MS, CACHE_ENTRIES);
  private readonly refusals = new TtlCache<CertmintError>(CREDENTIAL_CACHE_MS, CACHE_ENTRIES);
  /** Revocation state of client certificates certmint issued, by SHA-256 fingerprint. */
  private readonly revokedCertificates = new TtlCache<boolean>(CREDENTIAL_CACHE_MS, CACHE_ENTRIES);
  /**
   * Bumped by every eviction (forget, forgetCertificate, tokenCreated, a CA revoked): a lookup
   * that started before one may have read the row as it was before the change that caused it,
   * so its result answers its own call but is not cached (it would outlive the eviction by
   * CREDENTIAL_CACHE_MS: a revoked token working on, a new one refused).
   */
  private generation = 0;
  /**
   * Keys ("s:"/"c:") of credentials that authenticated (neither revoked nor expired) within
   * KNOWN_CREDENTIAL_MS. Until 2026-12-05 the failure limit refused every lookup from an
   * address over it, so anyone sharing a tenant's address (a NAT, an egress proxy), with no
   * credential at all, could lock that tenant out by sending made-up tokens: its credential
   * stayed usable only while cached, 5 s (an outside probe). Only a success adds a key, so a
   * guesser cannot use this set. The value is the token's id: a revocation through this
   * process drops its keys (forget).
   */
  private readonly known = new TtlCache<string>(KNOWN_CREDENTIAL_MS, CACHE_ENTRIES);
  /** A client certificate's notAfter (ms since the epoch), by SHA-256 fingerprint; NaN if unreadable. */
  private readonly notAfters = new TtlCache<number>(3_600_000, CACHE_ENTRIES);
  /**
   * Open streams (WatchCertificates) by credential: each eviction below also checks the
   * streams of the credentials it names, so they end as soon as this process learns of a
   * revocation (open-streams.ts), not at their next message.
   */
  private readonly streams: OpenStreams;

  constructor(
    private readonly store: {
      tokens: Pick<AccessTokenRepository, "findBySecretHash" | "findBindings" | "find">;
      certificates: Pick<CertificateRepository, "isRevoked" | "findIssued" | "findById">;
    },
    private readonly now: () => Date,
    private readonly failures: AuthFailureLimit,
    private readonly cas: CaDirectory,
  ) {
    this.streams = new OpenStreams(
      (metadata, peer) => this.identify(metadata, peer, undefined),
      now,
      CREDENTIAL_CACHE_MS,
    );
  }

  /** `address` is the caller's, as grpc-js's getPeer() gives it (the failure limit is per address). */
  async authenticate(
    metadata: Metadata,
    peer: PeerIdentity | undefined,
    address: string,
  ): Promise<Actor> {
    try {
      return (await this.identify(metadata, peer, address)).actor;
    } catch (err) {
      if (isCertmintError(err) && err.kind === "unauthenticated") {
        const answer = this.failures.failed(address, err);
        // Awaited only when the limit is kept by the supervisor (CERTMINT_PROCESSES > 1).
        throw answer instanceof Promise ? await answer : answer;
      }
      throw err;
    }
  }

  /**
   * Holds an open stream, authenticated as `actor` by the call's credentials, to them: `end`
   * is called (once) with the refusal a call would now get (UNAUTHENTICATED: TOKEN_REVOKED,
   * TOKEN_EXPIRED, CLIENT_CERTIFICATE_REVOKED, ...) as soon as this process learns that they
   * are no longer in force: a revocation through it or announced by another process, a
   * reconnected listener's re-check, or the token's (or client certificate's) expiry. Returns
   * what lets go, when the stream ends otherwise.
   */
  holdStream(
    metadata: Metadata,
    peer: PeerIdentity | undefined,
    actor: Actor,
    end: (err: CertmintError) => void,
  ): () => void {
    return this.streams.hold(credentialKeyOf(metadata, peer), metadata, peer, actor, end);
  }

  /** Evicts a certificate's revocation state (after RevokeCertificate). */
  forgetCertificate(fingerprintSha256: string): void {
    this.generation += 1;
    this.revokedCertificates.delete(fingerprintSha256);
    this.streams.certificateChanged(fingerprintSha256);
  }

  /**
   * A CA was revoked: client certificates issued under it stop authenticating, so certificate
   * results and the CA set are reloaded (other replicas see it within the caches' lifetimes).
   */
  certificateAuthorityRevoked(): void {
    this.generation += 1;
    this.credentials.deleteWhere((_, key) => key.startsWith("c:"));
    this.cas.invalidate();
    this.streams.certificatesChanged();
  }

  /**
   * Drops everything cached about credentials: another process's changes may have been missed
   * (its notifications' listener reconnected, store/credential-changes.ts).
   */
  forgetAll(): void {
    this.generation += 1;
    this.credentials.deleteWhere();
    this.refusals.deleteWhere();
    this.revokedCertificates.deleteWhere();
    this.cas.invalidate();
    // Every open stream's credential is read again: a revocation may be among what was missed.
    this.streams.all();
  }

  /** Evicts a token from the cache (after RevokeAccessToken). */
  forget(tokenId: string): void {
    this.generation += 1;
    this.credentials.deleteWhere((credential) => credential.id === tokenId);
    this.known.deleteWhere((id) => id === tokenId);
    this.streams.tokenRevoked(tokenId);
  }

  /**
   * Whether an `authorization` header carries a token that authenticated here within
   * KNOWN_CREDENTIAL_MS: the gRPC port lets calls with any other token use only a part of its
   * open calls, from their headers until their message is read (server/open-calls.ts). Cheap:
   * a pattern test and one SHA-256, no database.
   */
  knowsBearer(header: string): boolean {
    const secret = /^Bearer +(\S+)\s*$/i.exec(header)?.[1];
    if (secret === undefined || !TOKEN_PATTERN.test(secret)) return false;
    return this.known.get(`s:${hashTokenSecret(secret).toString("hex")}`) !== undefined;
  }

  /**
   * A token was created: a refused credential may be one now, and a certificate that matched
   * one binding may now match two (ambiguous), so cached refusals and certificate results go,
   * and so does the CA set (the binding may name a CA created since it was loaded).
   */
  tokenCreated(): void {
    this.generation += 1;
    this.refusals.deleteWhere();
    this.credentials.deleteWhere((_, key) => key.startsWith("c:"));
    this.cas.invalidate();
  }

  /**
   * The credential's actor and until when it is valid. `address` undefined: the server's own
   * check of an open stream's credential, which no client's failure limit gates.
   */
  private identify(
    metadata: Metadata,
    peer: PeerIdentity | undefined,
    address: string | undefined,
  ): Promise<CheckedCredential> {
    const headers = metadata.get("authorization");
    if (headers.length > 1) {
      throw unauthenticated("CREDENTIALS_AMBIGUOUS", "send one authorization header, not several");
    }
    if (headers.length === 1) return this.fromBearer(String(headers[0]), address);
    if (peer) return this.fromCertificate(peer, address);
    throw credentialsMissing();
  }

  private async fromBearer(
    header: string,
    address: string | undefined,
  ): Promise<CheckedCredential> {
    const match = /^Bearer +(\S+)\s*$/i.exec(header);
    // Never echo the header: it may be a real token with a typo.
    if (!match || !TOKEN_PATTERN.test(match[1]!)) {
      throw unauthenticated(
        "TOKEN_MALFORMED",
        "the authorization header must be 'Bearer certmint_' followed by 43 characters, as CreateAccessToken returned it",
      );
    }
    const hash = hashTokenSecret(match[1]!);
    const key = `s:${hash.toString("hex")}`;
    const credential = await this.cached(key, address, async () => {
      const credential = await this.store.tokens.findBySecretHash(hash);
      if (!credential) {
        throw unauthenticated("TOKEN_UNKNOWN", "the access token is not known here");
      }
      return credential;
    });
    return { actor: this.actorOf(credential), validUntil: credential.expiresAt.getTime() };
  }

  private async fromCertificate(
    peer: PeerIdentity,
    address: string | undefined,
  ): Promise<CheckedCredential> {
    // TLS checked the validity when the connection was made; a connection (and a watch on
    // it) can outlive the certificate, so its notAfter is checked on every call too.
    const notAfter = this.notAfterOf(peer);
    if (notAfter <= this.now().getTime()) {
      throw unauthenticated(
        "CLIENT_CERTIFICATE_EXPIRED",
        `the client certificate (serial ${peer.serialNumber}) expired at ${new Date(notAfter).toISOString()}; connect again with its successor`,
      );
    }
    // TLS checked the chain and validity, not revocation: a client certificate certmint
    // issued and then revoked is refused here (certificates of other CAs are not known).
    if (await this.isRevokedHere(peer, `c:${peer.fingerprintSha256}`, address)) {
      throw unauthenticated(
        "CLIENT_CERTIFICATE_REVOKED",
        `the client certificate (serial ${peer.serialNumber}) was revoked`,
      );
    }
    const credential = await this.cached(`c:${peer.fingerprintSha256}`, address, () =>
      resolveClientCertificate(
        this.store.tokens,
        this.store.certificates,
        this.cas,
        peer,
        this.now(),
      ),
    );
    // Which certificate it presented: the token may renew exactly that one
    // (certificates/ownership.ts), as the README's mTLS bootstrap has a workload do.
    // A cached credential outlives the check resolveClientCertificate made: the certificate's
    // bound (credential-lifetime.ts) is checked on every call, as its notAfter is.
    const until = credential.certificateAuthenticatesUntil?.getTime() ?? Number.POSITIVE_INFINITY;
    if (until <= this.now().getTime()) {
      throw creatorExpired(peer.serialNumber, credential.certificateAuthenticatesUntil!);
    }
    return {
      actor: { ...this.actorOf(credential), clientCertificateSha256: peer.fingerprintSha256 },
      validUntil: Math.min(credential.expiresAt.getTime(), notAfter, until),
    };
  }

  /**
   * The credential under `key` from the cache, or its cached refusal, or else loaded (after the
   * failure limit allows a database lookup) and cached either way.
   */
  private async cached(
    key: string,
    address: string | undefined,
    load: () => Promise<Credential>,
  ): Promise<Credential> {
    const hit = this.credentials.get(key);
    if (hit) return hit;
    const refused = this.refusals.get(key);
    if (refused) throw refused;
    // Read before any await: an eviction from then on keeps this lookup's result out of the cache.
    const generation = this.generation;
    const check = this.checkLookup(key, address);
    if (check) await check;
    try {
      const credential = await load();
      if (generation === this.generation) this.credentials.set(key, credential);
      if (!credential.revokedAt && credential.expiresAt.getTime() > this.now().getTime()) {
        this.known.set(key, credential.id);
      }
      return credential;
    } catch (err) {
      if (
        isCertmintError(err) &&
        err.kind === "unauthenticated" &&
        generation === this.generation
      ) {
        this.refusals.set(key, err);
      }
      throw err;
    }
  }

  private notAfterOf(peer: PeerIdentity): number {
    const hit = this.notAfters.get(peer.fingerprintSha256);
    if (hit !== undefined) return hit;
    let notAfter = Number.NaN;
    try {
      notAfter = parseCertificate(peer.der).notAfter.getTime();
    } catch {
      // The parser refused what OpenSSL verified: its names are unreadable too, so it is
      // bound to no one (client-certificates.ts); TLS checked its dates.
    }
    this.notAfters.set(peer.fingerprintSha256, notAfter);
    return notAfter;
  }

  /**
   * Before a database lookup for `key`: the failure limit of `address` applies to credentials
   * not known to have authenticated (RESOURCE_EXHAUSTED past it).
   */
  private checkLookup(key: string, address: string | undefined): void | Promise<void> {
    if (address === undefined || this.known.get(key)) return;
    return this.failures.checkBeforeLookup(address);
  }

  private async isRevokedHere(
    peer: PeerIdentity,
    key: string,
    address: string | undefined,
  ): Promise<boolean> {
    const hit = this.revokedCertificates.get(peer.fingerprintSha256);
    if (hit !== undefined) return hit;
    const generation = this.generation;
    const check = this.checkLookup(key, address);
    if (check) await check;
    const revoked = await this.store.certificates.isRevoked(
      peer.serialNumber,
      peer.fingerprintSha256,
    );
    if (generation === this.generation)
      this.revokedCertificates.set(peer.fingerprintSha256, revoked);
    return revoked;
  }

  private actorOf(c: Credential): Actor {
    if (c.revokedAt) {
      throw unauthenticated(
        "TOKEN_REVOKED",
        `access token "${c.slug}" was revoked at ${c.revokedAt.toISOString()}`,
      );
    }
    if (c.expiresAt.getTime() <= this.now().getTime()) {
      throw unauthenticated(
        "TOKEN_EXPIRED",
        `access token "${c.slug}" expired at ${c.expiresAt.toISOString()}; an admin can create a new one`,
      );
    }
    const actor: Actor = { id: c.id, slug: c.slug, role: c.role, profileIds: c.profileIds };
    // Only an admin's certificates, or a binding's (a client certificate authenticated it), can
    // ever authenticate as a token (client-certificates.ts mayPresent: issued to the bound token
    // itself, or by an admin); another bearer token's never do, and what it issues records
    // nothing of it.
    if (c.role !== "ADMIN" && c.certificateVouchedBy === undefined) return actor;
    // What the certificates this caller has issued authenticate until at most
    // (certificates/credential-lifetime.ts): its token's expiry unless it is certmint's first
    // admin token, and the bound of the client certificate it presented; and whose authority
    // it rests on (its token, and those that certificate was vouched for by).
    const credentialsUntil = earliest(
      c.creatorId === null ? null : c.expiresAt,
      c.certificateAuthenticatesUntil ?? null,
    );
    return {
      ...actor,
      ...(credentialsUntil ? { credentialsUntil } : {}),
      vouchers: [...new Set([c.id, ...(c.certificateVouchedBy ?? [])])],
    };
  }
}

/**
 * The cache key of the credential a call authenticates with, as identify chooses it: a bearer
 * token wins over a client certificate.
 */
function credentialKeyOf(metadata: Metadata, peer: PeerIdentity | undefined): string {
  const header = metadata.get("authorization")[0];
  if (header !== undefined) {
    const secret = /^Bearer +(\S+)\s*$/i.exec(String(header))?.[1] ?? "";
    return `s:${hashTokenSecret(secret).toString("hex")}`;
  }
  return `c:${peer?.fingerprintSha256 ?? ""}`;
}

/**
 * A call that presents no credential: no `authorization` metadata, no verified client
 * certificate. Also answered by the gRPC port when the call's headers arrive, before its
 * request message (server/open-calls.ts).
 */
export function credentialsMissing(): CertmintError {
  return unauthenticated(
    "CREDENTIALS_MISSING",
    "this call needs credentials: send the metadata 'authorization: Bearer <token>' (an access token from CreateAccessToken, or the first admin token in the data directory's admin-token file), or a client certificate bound to an access token (mTLS)",
  );
}
