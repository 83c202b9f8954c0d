/**
 * Security review: a revocation evicts a token from the authentication cache at once, also
 * when a lookup of it was in flight. Before, a lookup that read the row before the revocation
 * committed and finished after the eviction cached the stale (unrevoked) row for another
 * CREDENTIAL_CACHE_MS: the revoked token kept working on that process. Likewise a refusal read
 * before a token was created, and a client certificate's revocation state read before it was
 * revoked. (A unit test: the race is made deterministic with gated lookups.)
 */
import { describe, expect, it } from "vitest";
import { Authenticator } from "../../src/auth/authenticator";
import { CaDirectory, NO_CLIENT_TRUST } from "../../src/auth/ca-directory";
import { FailureLimiter } from "../../src/auth/failure-limiter";
import type { PeerIdentity } from "../../src/auth/peer-identity";
import { isCertmintError } from "../../src/errors";
import { TOKEN_PREFIX } from "../../src/issuance/access-tokens/secret";
import type { Credential } from "../../src/issuance/repositories";

const secret = `${TOKEN_PREFIX}${"a".repeat(43)}`;
const headers = (token: string) => ({
  get: (key: string) => (key === "authorization" ? [`Bearer ${token}`] : []),
});

const row = (revokedAt: Date | null): Credential => ({
  id: "0190b3a0-0000-7000-8000-000000000001",
  slug: "issuer",
  role: "ISSUER",
  profileIds: [],
  expiresAt: new Date(Date.now() + 3_600_000),
  revokedAt,
});

/** A lookup that waits until released. */
function gate<T>() {
  let release!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    release = r;
  });
  return { promise, release };
}

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (err) {
    return isCertmintError(err) ? err.reason : String(err);
  }
}

function authenticator(store: ConstructorParameters<typeof Authenticator>[0]) {
  return new Authenticator(
    store,
    () => new Date(),
    new FailureLimiter(1000, 1000),
    new CaDirectory({ withCertificates: async () => [] }, NO_CLIENT_TRUST),
  );
}

describe("the authentication cache and evictions that race a lookup", () => {
  it("a token revoked while its lookup is in flight is refused on the next call", async () => {
    const first = gate<Credential>();
    let lookups = 0;
    const auth = authenticator({
      tokens: {
        findBySecretHash: () => {
          lookups += 1;
          return lookups === 1 ? first.promise : Promise.resolve(row(new Date()));
        },
        findBindings: async () => [],
        find: async () => null,
      },
      certificates: {
        isRevoked: async () => false,
        findIssued: async () => null,
        findById: async () => null,
      },
    });
    // A call looks the token up; the row it reads is from before the revocation.
    const inFlight = auth.authenticate(headers(secret) as never, undefined, "ipv4:10.0.0.1:1");
    // RevokeAccessToken commits and evicts the token (forgetCredential) meanwhile.
    auth.forget(row(null).id);
    first.release(row(null));
    await inFlight;
    expect(
      await reason(auth.authenticate(headers(secret) as never, undefined, "ipv4:10.0.0.1:1")),
    ).toBe("TOKEN_REVOKED");
  });

  it("a refusal read before a token was created is not kept", async () => {
    const first = gate<Credential | null>();
    let lookups = 0;
    const auth = authenticator({
      tokens: {
        findBySecretHash: () => {
          lookups += 1;
          return lookups === 1 ? first.promise : Promise.resolve(row(null));
        },
        findBindings: async () => [],
        find: async () => null,
      },
      certificates: {
        isRevoked: async () => false,
        findIssued: async () => null,
        findById: async () => null,
      },
    });
    const inFlight = auth.authenticate(headers(secret) as never, undefined, "ipv4:10.0.0.1:1");
    auth.tokenCreated();
    first.release(null);
    expect(await reason(inFlight)).toBe("TOKEN_UNKNOWN");
    expect(
      await reason(auth.authenticate(headers(secret) as never, undefined, "ipv4:10.0.0.1:1")),
    ).toBe("OK");
  });

  it("a client certificate revoked while its revocation state is read is refused on the next call", async () => {
    const first = gate<boolean>();
    let lookups = 0;
    const peer: PeerIdentity = {
      subject: "CN=x",
      uris: [],
      dnsNames: [],
      serialNumber: "01",
      fingerprintSha256: "ab".repeat(32),
      der: Buffer.alloc(0),
    };
    const auth = authenticator({
      tokens: {
        findBySecretHash: async () => null,
        findBindings: async () => [],
        find: async () => null,
      },
      certificates: {
        isRevoked: () => {
          lookups += 1;
          return lookups === 1 ? first.promise : Promise.resolve(true);
        },
        findIssued: async () => null,
        findById: async () => null,
      },
    });
    const inFlight = auth.authenticate({ get: () => [] } as never, peer, "ipv4:10.0.0.1:1");
    auth.forgetCertificate(peer.fingerprintSha256);
    first.release(false);
    await reason(inFlight);
    expect(
      await reason(auth.authenticate({ get: () => [] } as never, peer, "ipv4:10.0.0.1:1")),
    ).toBe("CLIENT_CERTIFICATE_REVOKED");
  });
});
