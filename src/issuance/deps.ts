import type { RateLimit } from "../auth/rate-limiter";
import type { CsrParser, KeyGenerator } from "../signer";
import type { CrlCache } from "./ca/crl-cache";
import type { CaKeyring } from "./ca/keyring";
import type { ListQueryGate } from "./common/list-gate";
import type { IssuanceObserver } from "./observer";
import type { Store } from "./repositories";

/** How long a generated key waits for replays of its request_id, unless configured: 60 minutes. */
export const DEFAULT_GENERATED_KEY_REPLAY_SECONDS = 3_600;

/**
 * What the use cases need: the store (src/issuance/repositories), the CA keyring, the key
 * generator, the clock and a few settings. Built once at start-up (src/app.ts).
 */
export interface IssuanceDeps {
  /** Every repository, and transactions over them (src/store/store.ts). */
  store: Store;
  keyring: CaKeyring;
  /** Makes the key pairs certmint generates (RSA fairly between callers, on worker threads). */
  keys: Pick<KeyGenerator, "generate">;
  now: () => Date;
  /** Parses and verifies request CSRs: on worker threads (CERTMINT_CSR_WORKERS), else inline. */
  csrs?: CsrParser;
  /** Base URL for CRL distribution points and AIA caIssuers, when configured. */
  publicBaseUrl?: string;
  /** The OCSP responder's URL for the AIA of issued certificates (RFC 5280 4.2.2.1), when configured. */
  ocspUrl?: string;
  /** Told of issuances, refusals and CRLs (metrics), when given. */
  observer?: IssuanceObserver;
  /** nextUpdate - thisUpdate of CRLs. */
  crlValiditySeconds: number;
  /**
   * How long a ListCertificates or ListAuditRecords page's query may run
   * (CERTMINT_LIST_QUERY_TIMEOUT_MS), or less when the call's deadline comes sooner; 0 or
   * unset: only the deadline bounds it.
   */
  listQueryTimeoutMs?: number;
  /**
   * Requests one caller may have waiting for an approver (CERTMINT_PENDING_APPROVALS_PER_TOKEN);
   * unset: no cap.
   */
  pendingApprovalsPerToken?: number;
  /**
   * Refused requests one caller may have recorded (CERTMINT_REFUSAL_LIMIT_*), keyed by access
   * token id; past it a refusal is RESOURCE_EXHAUSTED and records nothing. Unset: no limit.
   */
  refusalLimit?: RateLimit;
  /** One caller's list queries running at once (CERTMINT_LIST_QUERIES_PER_TOKEN); unset: no cap. */
  listGate?: ListQueryGate;
  /**
   * The CAs' CRLs, signed once per cache period and after revocations, shared by
   * GetCertificateRevocationList and the publication endpoint; absent: signed on each call.
   */
  crls?: CrlCache;
  /**
   * How long a server-generated key of a profile that keeps no keys (RETURN_ONCE) stays sealed
   * on its request, so a replay of the same request_id by the same token gets it again (a
   * lost answer); 0: not kept. DEFAULT_GENERATED_KEY_REPLAY_SECONDS when unset.
   */
  generatedKeyReplaySeconds?: number;
  /**
   * Told after a certificate (or an intermediate CA, with its parent as `caId`) is revoked, or
   * a certificate on hold is released (or its hold made final): the published CRL of its CA is
   * re-signed, OCSP answers of the CA are dropped, and a client certificate's cached state is
   * dropped (a revoked one stops authenticating at once, a released one authenticates again).
   * The other processes are told the same (store/credential-changes.ts, certificate-revoked).
   */
  onCertificateRevoked?: (certificate: {
    caId: string | null;
    fingerprintSha256: string;
    /** The revoked certificate is a CA's own (RevokeCertificateAuthority). */
    certificateAuthority?: boolean;
  }) => void;
}
