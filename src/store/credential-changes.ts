import type { MikroORM } from "@mikro-orm/postgresql";
import { CREDENTIALS_CHANNEL, type Listener, listen } from "./notifications";

/**
 * A change that other server processes sharing the database must apply to what they cache about
 * credentials (auth/authenticator.ts keeps token rows, refusals and certificate states for
 * CREDENTIAL_CACHE_MS): a token revoked or created, a certificate (a client certificate, or a
 * CA's) revoked.
 */
export type CredentialChange =
  | { readonly kind: "token-revoked"; readonly tokenId: string }
  | { readonly kind: "token-created" }
  | {
      readonly kind: "certificate-revoked";
      readonly fingerprintSha256: string;
      readonly caId?: string;
      readonly certificateAuthority: boolean;
    };

/** The payload of a NOTIFY (at most 8000 bytes; these are well under 200). */
export function encodeCredentialChange(change: CredentialChange): string {
  switch (change.kind) {
    case "token-revoked":
      return `t ${change.tokenId}`;
    case "token-created":
      return "n";
    case "certificate-revoked":
      return `c ${change.fingerprintSha256} ${change.caId ?? "-"} ${change.certificateAuthority ? 1 : 0}`;
  }
}

/** The change a payload names; undefined for one this build does not know (a newer replica's). */
export function decodeCredentialChange(payload: string): CredentialChange | undefined {
  const [kind, a, b, c] = payload.split(" ");
  if (kind === "t" && a) return { kind: "token-revoked", tokenId: a };
  if (kind === "n") return { kind: "token-created" };
  if (kind === "c" && a && b && c) {
    return {
      kind: "certificate-revoked",
      fingerprintSha256: a,
      caId: b === "-" ? undefined : b,
      certificateAuthority: c === "1",
    };
  }
  return undefined;
}

/**
 * Credential changes between the server processes of one PostgreSQL database (replicas, and
 * the workers of CERTMINT_PROCESSES), by NOTIFY on CREDENTIALS_CHANNEL and a LISTEN connection
 * per process. Until stop 41 of 2026-12-06 a token revoked through one process kept working
 * through the others until their cached row expired (up to 5 s); now they drop it as the
 * notification arrives, a round trip after the revocation's commit. The cache's lifetime stays
 * the bound when a notification is lost (the NOTIFY after a commit failed, or a LISTEN
 * connection was down: on reconnecting a process drops everything it cached, since it cannot
 * know what it missed). The embedded database has one process and needs none of this.
 */
export class CredentialChanges {
  constructor(
    private readonly orm: MikroORM,
    private readonly databaseUrl: string | undefined,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Tells the other processes (and this one's listener) of a committed change. */
  announce(change: CredentialChange): void {
    if (this.databaseUrl === undefined) return;
    this.orm.em
      .getConnection()
      .execute("select pg_notify(?, ?)", [CREDENTIALS_CHANNEL, encodeCredentialChange(change)])
      .catch(this.onError);
  }

  /**
   * Calls `apply` with each change announced by any process, and with undefined when the
   * listener connected again and may have missed some. (Not on its first connection: what was
   * cached before it is bounded by the cache's lifetime, as it was before any listener.)
   */
  subscribe(apply: (change: CredentialChange | undefined) => void): Listener | undefined {
    if (this.databaseUrl === undefined) return undefined;
    let connected = false;
    return listen(
      this.databaseUrl,
      CREDENTIALS_CHANNEL,
      (payload) => {
        if (payload === undefined) {
          if (connected) apply(undefined);
          connected = true;
          return;
        }
        const change = decodeCredentialChange(payload);
        if (change) apply(change);
      },
      this.onError,
    );
  }
}
