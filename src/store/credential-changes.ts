import { randomBytes } from "node:crypto";
import type { MikroORM } from "@mikro-orm/postgresql";
import { CREDENTIALS_CHANNEL, type Listener, listen } from "./notifications";

/**
 * A change that other server processes sharing the database must apply to what they cache about
 * credentials (auth/authenticator.ts keeps token rows, refusals and certificate states for
 * CREDENTIAL_CACHE_MS): a token revoked or created, a certificate (a client certificate, or a
 * CA's) revoked. "certificate-revoked" also announces a certificate whose revocation status
 * changed otherwise, a hold released or made final (certificates/release-hold.ts, revoke.ts):
 * what a process does with it is the same (drop the certificate's cached state, the CA's CRL
 * and OCSP answers, which are then read again), and processes of a build from before releases
 * existed apply it as well, which a kind of its own would not give them during a rolling
 * upgrade (they ignore a kind they do not read).
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

/**
 * Signs and checks payloads: the key-encryption key's MAC for "credential-changes"
 * (CaKeyring.macFor), which every process sharing the database derives alike.
 */
export interface PayloadAuthenticator {
  tag(...parts: string[]): Buffer;
  verify(tag: Buffer, ...parts: string[]): boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The payload of a NOTIFY (at most 8000 bytes; these are well under 250): the change and its MAC. */
export function encodeCredentialChange(
  change: CredentialChange,
  mac: PayloadAuthenticator,
  origin = "-",
): string {
  let body: string;
  switch (change.kind) {
    case "token-revoked":
      body = `t ${change.tokenId}`;
      break;
    case "token-created":
      body = "n";
      break;
    case "certificate-revoked":
      body = `c ${change.fingerprintSha256} ${change.caId ?? "-"} ${change.certificateAuthority ? 1 : 0}`;
      break;
  }
  // The announcing process first: it applied the change already, and skips its own.
  body = `${origin} ${body}`;
  return `${body} ${mac.tag(CREDENTIALS_CHANNEL, body).toString("base64url")}`;
}

/**
 * The change a payload names; undefined for one whose MAC does not verify (anyone who may
 * connect to the database may NOTIFY on any channel of it: a review of stop 41 forged 5,000
 * changes from a plain client, each dropping a cached CRL), or that this build does not read.
 */
export function decodeCredentialChange(
  payload: string,
  mac: PayloadAuthenticator,
): CredentialChange | undefined {
  return decodeAnnouncement(payload, mac)?.change;
}

/** The change a payload names, and the process that announced it. */
function decodeAnnouncement(
  payload: string,
  mac: PayloadAuthenticator,
): { origin: string; change: CredentialChange } | undefined {
  const space = payload.lastIndexOf(" ");
  if (space <= 0 || payload.length > 512) return undefined;
  const body = payload.slice(0, space);
  const tag = Buffer.from(payload.slice(space + 1), "base64url");
  if (tag.length === 0 || !mac.verify(tag, CREDENTIALS_CHANNEL, body)) return undefined;
  const [origin, ...fields] = body.split(" ");
  const change = changeOf(fields);
  return origin && change ? { origin, change } : undefined;
}

function changeOf(fields: string[]): CredentialChange | undefined {
  const [kind, a, b, c, ...rest] = fields;
  if (rest.length > 0) return undefined;
  if (kind === "t" && a && UUID.test(a) && b === undefined) {
    return { kind: "token-revoked", tokenId: a };
  }
  if (kind === "n" && a === undefined) return { kind: "token-created" };
  if (kind === "c" && a && SHA256_HEX.test(a) && b && (b === "-" || UUID.test(b))) {
    if (c !== "0" && c !== "1") return undefined;
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
  /** This process, in its announcements. */
  private readonly origin = randomBytes(9).toString("base64url");

  constructor(
    private readonly orm: MikroORM,
    private readonly databaseUrl: string | undefined,
    private readonly mac: PayloadAuthenticator,
    private readonly onError: {
      /** A NOTIFY that failed: the other processes apply the change within their cache's lifetime. */
      announce: (err: unknown) => void;
      /** The LISTEN connection failed; it connects again. */
      listen: (err: unknown) => void;
    },
  ) {}

  /** Tells the other processes (and this one's listener) of a committed change. */
  announce(change: CredentialChange): void {
    if (this.databaseUrl === undefined) return;
    this.orm.em
      .getConnection()
      .execute("select pg_notify(?, ?)", [
        CREDENTIALS_CHANNEL,
        encodeCredentialChange(change, this.mac, this.origin),
      ])
      .catch(this.onError.announce);
  }

  /**
   * Calls `apply` with each change announced by any process, and with undefined when the
   * listener connected again and may have missed some. (Not on its first connection: what was
   * cached before it is bounded by the cache's lifetime, as it was before any listener.)
   * `rejected` gets each payload that is not a change signed with this database's KEK.
   */
  subscribe(
    apply: (change: CredentialChange | undefined) => void,
    rejected: () => void,
  ): Listener | undefined {
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
        const announced = decodeAnnouncement(payload, this.mac);
        if (!announced) rejected();
        // Its own: applied when it was made. Applied again it dropped the CRL signed since
        // (crl-cache.ts), and a fetch right after a revocation got a CRL signed once more.
        else if (announced.origin !== this.origin) apply(announced.change);
      },
      this.onError.listen,
    );
  }
}
