import { accessSync, constants } from "node:fs";
import { BlockList, isIP } from "node:net";
import { availableParallelism } from "node:os";
import { isAbsolute, resolve } from "node:path";

/** The one typed configuration, read from the environment once at start-up and frozen. */
export interface Config {
  /** host:port the gRPC server listens on. */
  readonly listen: { readonly host: string; readonly port: number };
  /** A real PostgreSQL; absent means the embedded PGlite in dataDir. */
  readonly databaseUrl?: string;
  /** Where the embedded database and generated keys live (absolute path). */
  readonly dataDir: string;
  readonly logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** How long in-flight calls may run after SIGTERM before they are cancelled. */
  readonly shutdownGraceMs: number;
  /**
   * At SIGTERM/SIGINT, how long the server goes on accepting and serving with health
   * NOT_SERVING before it stops accepting (server/drain.ts); 0: it stops accepting at once.
   */
  readonly shutdownDrainDelayMs: number;
  /** Connections to a real PostgreSQL. */
  readonly databasePoolSize: number;
  /** A pooled database connection idle this long is closed (both databases). */
  readonly databaseIdleTimeoutMs: number;
  /**
   * Where the key-encryption key (AES-256) that seals CA private keys comes from: a base64
   * value, or a file (default <dataDir>/kek.key, generated with mode 0600 on first start).
   */
  readonly kek: { readonly base64?: string; readonly file?: string };
  /** Base URL where CRLs and CA certificates are published; adds CRL DP and AIA to certificates. */
  readonly publicBaseUrl?: string;
  /** nextUpdate - thisUpdate of issued CRLs (RFC 5280 5.1.2.5). */
  readonly crlValiditySeconds: number;
  /** TLS on the gRPC port; absent means plaintext (see `allowPlaintext`). */
  readonly tls?: TlsConfig;
  /**
   * Plaintext on a non-loopback listen address was accepted explicitly
   * (CERTMINT_ALLOW_PLAINTEXT=true). Without TLS and without it, only loopback is allowed.
   */
  readonly allowPlaintext: boolean;
  /** Calls per second each access token may make on average (0: no limit), and its burst. */
  readonly rateLimit: { readonly perSecond: number; readonly burst: number };
  /**
   * Failed authentications per second each peer address (IPv4 address, IPv6 /64) may make on
   * average (0: no limit), and its burst; past it, RESOURCE_EXHAUSTED and no credential lookups.
   */
  readonly authFailureLimit: { readonly perSecond: number; readonly burst: number };
  /** Largest request message accepted (grpc.max_receive_message_length). */
  readonly maxMessageBytes: number;
  /** Where the first admin token is written (<dataDir>/admin-token). */
  readonly adminTokenFile: string;
  /**
   * host:port of the plain-HTTP server that publishes CRLs and CA certificates at the paths
   * certificates name under publicBaseUrl (/crl/<ca id>.crl, /ca/<ca id>.crt); absent: off.
   */
  readonly publicationListen?: { readonly host: string; readonly port: number };
  /**
   * How long a CA's CRL (published and GetCertificateRevocationList) is served before a fresh
   * one is signed (revocations refresh it).
   */
  readonly crlCacheSeconds: number;
  /**
   * How long a generated private key of a RETURN_ONCE profile stays sealed on its request, so
   * a replay of the same request_id by the same token gets it again; 0: not kept.
   */
  readonly generatedKeyReplaySeconds: number;
  /** Timeouts and the cap of connections on the gRPC and publication ports. */
  readonly connections: ConnectionLimits;
  /**
   * Whether CERTMINT_MAX_CONNECTIONS was set. Unset, the cap is lowered at start-up to what the
   * process's file-descriptor limit leaves room for (server/fd-budget.ts); set, it is kept and
   * a warning says when it exceeds that room.
   */
  readonly maxConnectionsSet: boolean;
  /**
   * host:port of the plain-HTTP Prometheus endpoint (GET /metrics); absent: off. Off by
   * default: the metrics name profiles and CAs, so an operator chooses where they are exposed.
   */
  readonly metricsListen?: { readonly host: string; readonly port: number };
  /**
   * A file holding the bearer token /metrics asks for (`Authorization: Bearer ...`); absent: no
   * authentication. Loopback is not private on a host with other users.
   */
  readonly metricsTokenFile?: string;
  /**
   * The OCSP responder's URL (RFC 6960) put in the AIA of certificates issued from now on
   * (RFC 5280 4.2.2.1 id-ad-ocsp); absent: none. The publication server answers at /ocsp.
   */
  readonly ocspUrl?: string;
  /** How long a signed OCSP response is reused (a revocation replaces it at once). */
  readonly ocspCacheSeconds: number;
  /** nextUpdate - thisUpdate of OCSP responses (RFC 6960 4.2.2.1). */
  readonly ocspValiditySeconds: number;
  /** Who signs OCSP responses: the CA's key, or a delegated responder certificate per CA. */
  readonly ocspResponder: "ca" | "delegated";
  /**
   * OCSP responses signed per second for one client address (IPv4 address, IPv6 /64), bursts of
   * ten seconds' worth; cached answers cost none. Past it, tryLater. 0: no limit.
   */
  readonly ocspSigningsPerAddressPerSecond: number;
  /**
   * Requests per second one client address may send to the publication port (bursts of ten
   * seconds' worth); past it 429, and its connections are not read for a second. 0: no limit.
   */
  readonly publicationRequestsPerAddressPerSecond: number;
  /** Health and reflection calls one client address may make a second (credential-free-calls.ts). */
  readonly credentialFreeCallsPerAddressPerSecond: number;
  /** Log lines as JSON (one object per line), or readable text; "auto": text on a terminal. */
  readonly logFormat: "auto" | "json" | "pretty";
  /**
   * Log output held in memory while stdout is not read (a stalled log collector), bytes;
   * lines beyond it are dropped and counted (server/logger.ts).
   */
  readonly logBufferBytes: number;
  /** The RSA key-generation pool: worker threads and each token's queue. */
  readonly keyGeneration: { readonly workers: number; readonly queuePerToken: number };
  /** Threads that parse and verify request CSRs off the event loop; 0: on it. */
  readonly csrWorkers: number;
  /** How often the database is probed; health is NOT_SERVING while it cannot be reached. */
  readonly databaseProbeIntervalMs: number;
  /**
   * How long the query of a ListCertificates page may run before PostgreSQL cancels it
   * (RESOURCE_EXHAUSTED, LIST_QUERY_TIMEOUT); 0: no limit but the call's deadline.
   */
  readonly listQueryTimeoutMs: number;
  /**
   * How many list queries (ListCertificates, ListAuditRecords pages) one access token runs at
   * once; its others wait for one to end (issuance/common/list-gate.ts). 0: no cap.
   */
  readonly listQueriesPerToken: number;
  /**
   * How many list queries of every token run at once, per process (each may hold a page of
   * certificates in memory until its answer is built); the others wait. 0: no cap.
   */
  readonly listQueries: number;
  /** Requests one access token may have waiting for approval; 0: no cap. */
  readonly pendingApprovalsPerToken: number;
  /** Refused requests one access token may have recorded (FAILED rows), per second and at once. */
  readonly refusalLimit: { readonly perSecond: number; readonly burst: number };
  /** The ACME listener (RFC 8555, src/acme); absent: ACME is off. */
  readonly acme?: AcmeConfig;
  /** Server-driven renewal of certificates whose profile sets renewal.auto_renew. */
  readonly renewal: RenewalConfig;
  /** WatchCertificates streams. */
  readonly watch: WatchConfig;
  /** Server processes sharing the listening ports (src/server/supervisor.ts). */
  readonly processes: ProcessesConfig;
}

/**
 * CERTMINT_PROCESSES: how many server processes serve the ports. One event loop runs on one
 * core; above 1 the started process becomes a supervisor that forks this many workers (Node's
 * cluster module: they share the gRPC, publication, ACME ports) and serves /metrics for all.
 * Only on a real PostgreSQL: the embedded database lives in one process (store/embedded-lock.ts).
 */
export interface ProcessesConfig {
  /** Worker processes; 1: no supervisor, this process serves. */
  readonly count: number;
  /**
   * `auto` asked for one per core, but the database is the embedded one, so one process serves
   * (main.ts logs it); an explicit number above 1 with the embedded database is refused.
   */
  readonly autoLimitedByEmbedded: boolean;
}

/** ACME enrollment (issue 16): its listener and how challenges are validated. */
export interface AcmeConfig {
  /** host:port of the ACME HTTP(S) listener. */
  readonly listen: { readonly host: string; readonly port: number };
  /**
   * HTTPS: the ACME listener's own certificate and key files when set, else the gRPC port's
   * (reloaded the same way, same cipher policy; no client certificates); absent: plain HTTP.
   */
  readonly tls?: TlsConfig;
  /**
   * Comma-separated CIDRs challenge validation may connect to; absent: any unicast address
   * but loopback, link-local, unspecified and multicast (src/acme/validation/targets.ts).
   */
  readonly validationNetworks?: string;
  /** DNS servers (host or host:port) for dns-01 and name resolution; absent: the system's. */
  readonly dnsResolvers: readonly string[];
  /** Ports http-01 and tls-alpn-01 connect to (RFC 8555 8.3: 80; RFC 8737: 443). */
  readonly http01Port: number;
  readonly tlsAlpn01Port: number;
  /** Bound of one validation, redirects included. */
  readonly validationTimeoutMs: number;
  /**
   * Validations connecting out at once, per process; more wait in a bounded queue
   * (src/acme/validation/slots.ts). Each holds an outbound socket: fd-budget.ts counts them.
   */
  readonly maxValidations: number;
  /** Requests per second each ACME account may make on average, and its burst. */
  readonly rateLimit: { readonly perSecond: number; readonly burst: number };
  /**
   * Accounts without External Account Binding each client address (IPv4 address, IPv6 /64) may
   * create per hour on average, and at once; 0: no limit (src/acme/handlers/accounts.ts).
   */
  readonly newAccountsPerAddressPerHour: number;
  /**
   * The listener's public origin (scheme, host, port; no path), e.g. https://acme.example.com:
   * every ACME URL is built from it and the request's Host is ignored. Absent: URLs follow the
   * request's scheme and Host (src/acme/http/server.ts originOf).
   */
  readonly baseUrl?: string;
}

/**
 * How the renewer (src/issuance/auto-renewal) works through due certificates: every tickMs
 * each replica claims at most perSecond * tickMs / 1000 of them, so a mass of certificates
 * due at once renews at a steady rate and leaves room for IssueCertificate.
 */
export interface RenewalConfig {
  /** false: this replica renews nothing (another replica, or none, does). */
  readonly enabled: boolean;
  readonly tickMs: number;
  /** Renewals per second this replica starts, at most. */
  readonly perSecond: number;
  /** A claimed certificate not renewed within this time is taken over by any replica. */
  readonly leaseSeconds: number;
  /** The first retry after a failed attempt; it doubles per failure up to retryMaxSeconds. */
  readonly retrySeconds: number;
  readonly retryMaxSeconds: number;
  /**
   * How long a key certmint generated for an automatic renewal of a RETURN_ONCE profile stays
   * sealed for its owner's watch (nobody is on a call to receive it).
   */
  readonly keyHoldSeconds: number;
}

export interface WatchConfig {
  /** An idle stream gets a KEEPALIVE event this often. */
  readonly keepaliveMs: number;
  /** Events are kept this long: a watcher away longer cannot resume from its cursor. */
  readonly retentionSeconds: number;
  /**
   * How often new events are looked for: the embedded database always polls; on PostgreSQL
   * LISTEN/NOTIFY wakes watchers at once and this is the fallback.
   */
  readonly pollMs: number;
  /** WatchCertificates streams one access token may have open at once. */
  readonly streamsPerToken: number;
  /**
   * Private keys one access token's watches are handed per second on average, per process, and
   * its burst; past it the token's next key waits (src/issuance/events/watch.ts). Rate 0: off.
   */
  readonly keysPerTokenPerSecond: number;
  readonly keysBurstPerToken: number;
}

/**
 * What a connection may cost (issue 10 item 5): an unused or silent connection holds a file
 * descriptor, and at the process's limit neither clients nor the database can be reached.
 */
export interface ConnectionLimits {
  /**
   * From accept to a usable connection: the TLS handshake and the HTTP/2 connection preface
   * (gRPC port), or the request headers (publication port). Slower connections are closed.
   */
  readonly handshakeTimeoutMs: number;
  /** A connection without a call in flight this long is closed (GOAWAY; HTTP: socket idle). */
  readonly idleTimeoutMs: number;
  /**
   * A gRPC connection older than this is told to reconnect (GOAWAY), so clients spread over
   * replicas and pick up a reloaded TLS certificate; calls in flight get the grace below.
   */
  readonly maxAgeMs: number;
  readonly maxAgeGraceMs: number;
  /** The server pings each gRPC connection this often and closes it without an answer in time. */
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
  /** Open connections per listening port; beyond it new ones are closed at once. */
  readonly maxConnections: number;
  /**
   * Open connections one client address may hold on a port; unset, a quarter of maxConnections
   * (server/connections-per-address.ts). Never more than maxConnections.
   */
  readonly maxConnectionsPerAddress?: number;
  /**
   * Calls open at once on one gRPC connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS): a
   * stream stays open until its answer is read, so this bounds the answers one connection can
   * leave unread. Clients queue calls beyond it.
   */
  readonly maxConcurrentStreams: number;
  /**
   * Calls open at once on the gRPC port of this process, whatever their connection; one client
   * address may hold a quarter of them (src/server/open-calls.ts).
   */
  readonly maxOpenCalls: number;
  /**
   * Answer bytes one gRPC connection may hold written but not yet read by its client; a unary
   * answer past it is refused (RESOURCE_EXHAUSTED): src/server/unread-answers.ts.
   */
  readonly unreadAnswerBytesPerConnection: number;
  /** The same, summed over the connections of one access token. */
  readonly unreadAnswerBytesPerToken: number;
  /** The same, summed over every connection of the process. */
  readonly unreadAnswerBytes: number;
  /**
   * Calls doing their work at once (past authentication); the rest wait for their turn, taken
   * by access token in turn: src/api/fair-admission.ts.
   */
  readonly callsInProgress: number;
  /** Calls one access token may have waiting for their turn; past it, RESOURCE_EXHAUSTED. */
  readonly callsQueuedPerToken: number;
  /**
   * Rows of list answers one access token is served per second on average, per process, and
   * its burst; a list of a token past it is RESOURCE_EXHAUSTED (src/api/fair-admission.ts,
   * ListRowBudget). Rate 0: off.
   */
  readonly listRowsPerTokenPerSecond: number;
  readonly listRowsBurstPerToken: number;
}

/** The server certificate, its key and the optional client CA bundle (absolute paths). */
export interface TlsConfig {
  /** PEM: the server certificate, then any intermediates. */
  readonly certFile: string;
  /** PEM: the unencrypted private key of that certificate. */
  readonly keyFile: string;
  /** PEM bundle of the CAs whose client certificates are accepted (mTLS). */
  readonly clientCaFile?: string;
  /**
   * PEM CRLs of CAs in clientCaFile: a client certificate they list is refused, and one whose
   * issuer's CRL is past its nextUpdate too (src/auth/client-crls.ts).
   */
  readonly clientCrlFile?: string;
  /** Refuse the TLS handshake of clients without a certificate from clientCaFile. */
  readonly requireClientCert: boolean;
  /** How often the three files are re-read; a change applies to new connections. */
  readonly reloadIntervalMs: number;
  /**
   * The variables that named the certificate and key files, for messages (the ACME listener's
   * own pair: CERTMINT_ACME_TLS_*); unset: the gRPC port's CERTMINT_TLS_*.
   */
  readonly variables?: { readonly certFile: string; readonly keyFile: string };
}

/** A configuration problem: main prints the message on one line and exits non-zero. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** The environment variables certmint reads, with their defaults (documented in README). */
export const ENV = {
  listen: "CERTMINT_LISTEN", // default 127.0.0.1:50051
  databaseUrl: "DATABASE_URL", // default: embedded PGlite
  dataDir: "CERTMINT_DATA_DIR", // default ./data
  logLevel: "CERTMINT_LOG_LEVEL", // default info
  shutdownGraceMs: "CERTMINT_SHUTDOWN_GRACE_MS", // default 10000
  shutdownDrainDelayMs: "CERTMINT_SHUTDOWN_DRAIN_DELAY_MS", // default 0
  databasePoolSize: "CERTMINT_DATABASE_POOL_SIZE", // default 10
  databaseIdleTimeoutMs: "CERTMINT_DATABASE_IDLE_TIMEOUT_MS", // default 30000
  kek: "CERTMINT_KEK", // base64 of 32 bytes; or:
  kekFile: "CERTMINT_KEK_FILE", // default <dataDir>/kek.key
  publicBaseUrl: "CERTMINT_PUBLIC_BASE_URL", // optional
  crlValiditySeconds: "CERTMINT_CRL_VALIDITY_SECONDS", // default 86400
  tlsCertFile: "CERTMINT_TLS_CERT_FILE", // optional; with the key: TLS
  tlsKeyFile: "CERTMINT_TLS_KEY_FILE", // optional; with the certificate: TLS
  tlsClientCaFile: "CERTMINT_TLS_CLIENT_CA_FILE", // optional: accept client certificates (mTLS)
  tlsRequireClientCert: "CERTMINT_TLS_REQUIRE_CLIENT_CERT", // default false
  tlsClientCrlFile: "CERTMINT_TLS_CLIENT_CRL_FILE", // optional: CRLs of the client CA bundle's CAs
  tlsReloadIntervalMs: "CERTMINT_TLS_RELOAD_INTERVAL_MS", // default 30000
  allowPlaintext: "CERTMINT_ALLOW_PLAINTEXT", // default false: plaintext on loopback only
  rateLimitPerSecond: "CERTMINT_RATE_LIMIT_PER_SECOND", // default 1000 per access token; 0: off
  rateLimitBurst: "CERTMINT_RATE_LIMIT_BURST", // default 2x the rate
  authFailureLimitPerSecond: "CERTMINT_AUTH_FAILURE_LIMIT_PER_SECOND", // default 10 per address; 0: off
  authFailureLimitBurst: "CERTMINT_AUTH_FAILURE_LIMIT_BURST", // default 100
  maxMessageBytes: "CERTMINT_MAX_MESSAGE_BYTES", // default 4194304
  publicationListen: "CERTMINT_PUBLICATION_LISTEN", // optional: HTTP for CRLs and CA certificates
  crlCacheSeconds: "CERTMINT_CRL_CACHE_SECONDS", // default 60
  generatedKeyReplaySeconds: "CERTMINT_GENERATED_KEY_REPLAY_SECONDS", // default 3600; 0: off
  handshakeTimeoutMs: "CERTMINT_HANDSHAKE_TIMEOUT_MS", // default 10000
  connectionIdleTimeoutMs: "CERTMINT_CONNECTION_IDLE_TIMEOUT_MS", // default 300000
  connectionMaxAgeMs: "CERTMINT_CONNECTION_MAX_AGE_MS", // default 1800000
  connectionMaxAgeGraceMs: "CERTMINT_CONNECTION_MAX_AGE_GRACE_MS", // default 30000
  keepaliveTimeMs: "CERTMINT_KEEPALIVE_TIME_MS", // default 60000
  keepaliveTimeoutMs: "CERTMINT_KEEPALIVE_TIMEOUT_MS", // default 20000
  maxConnections: "CERTMINT_MAX_CONNECTIONS", // default 1000 per listening port
  maxConnectionsPerAddress: "CERTMINT_MAX_CONNECTIONS_PER_ADDRESS", // default a quarter of it
  maxConcurrentStreams: "CERTMINT_MAX_CONCURRENT_STREAMS", // default 250 calls open per gRPC connection
  maxOpenCalls: "CERTMINT_MAX_OPEN_CALLS", // default 10000 calls open per process, a quarter per address
  unreadAnswerBytesPerConnection: "CERTMINT_UNREAD_ANSWER_BYTES_PER_CONNECTION", // default 32 MiB
  unreadAnswerBytesPerToken: "CERTMINT_UNREAD_ANSWER_BYTES_PER_TOKEN", // default 64 MiB
  unreadAnswerBytes: "CERTMINT_UNREAD_ANSWER_BYTES", // default 256 MiB over all connections
  callsInProgress: "CERTMINT_CALLS_IN_PROGRESS", // default 64 calls at work per process
  callsQueuedPerToken: "CERTMINT_CALLS_QUEUED_PER_TOKEN", // default 1000 waiting per token
  listRowsPerTokenPerSecond: "CERTMINT_LIST_ROWS_PER_TOKEN_PER_SECOND", // default 2000 per process; 0: off
  listRowsBurstPerToken: "CERTMINT_LIST_ROWS_BURST_PER_TOKEN", // default 10000
  keyGenerationWorkers: "CERTMINT_KEY_GENERATION_WORKERS", // default: cores / processes - 1, at least 1
  keyGenerationQueuePerToken: "CERTMINT_KEY_GENERATION_QUEUE_PER_TOKEN", // default 8
  csrWorkers: "CERTMINT_CSR_WORKERS", // default 0: CSRs are checked on the event loop
  databaseProbeIntervalMs: "CERTMINT_DATABASE_PROBE_INTERVAL_MS", // default 1000
  listQueryTimeoutMs: "CERTMINT_LIST_QUERY_TIMEOUT_MS", // default 3000; 0: off
  listQueriesPerToken: "CERTMINT_LIST_QUERIES_PER_TOKEN", // default 2; 0: off
  listQueries: "CERTMINT_LIST_QUERIES", // default 4 per process; 0: off
  pendingApprovalsPerToken: "CERTMINT_PENDING_APPROVALS_PER_TOKEN", // default 1000; 0: off
  refusalLimitPerSecond: "CERTMINT_REFUSAL_LIMIT_PER_SECOND", // default 10 per access token; 0: off
  refusalLimitBurst: "CERTMINT_REFUSAL_LIMIT_BURST", // default 100
  acmeListen: "CERTMINT_ACME_LISTEN", // optional: the ACME listener (RFC 8555)
  acmeTlsCertFile: "CERTMINT_ACME_TLS_CERT_FILE", // default: CERTMINT_TLS_CERT_FILE
  acmeTlsKeyFile: "CERTMINT_ACME_TLS_KEY_FILE", // default: CERTMINT_TLS_KEY_FILE
  acmeValidationNetworks: "CERTMINT_ACME_VALIDATION_NETWORKS", // default: unicast, not loopback/link-local
  acmeDnsResolvers: "CERTMINT_ACME_DNS_RESOLVERS", // default: the system's resolver
  acmeHttp01Port: "CERTMINT_ACME_HTTP01_PORT", // default 80
  acmeTlsAlpn01Port: "CERTMINT_ACME_TLS_ALPN01_PORT", // default 443
  acmeValidationTimeoutMs: "CERTMINT_ACME_VALIDATION_TIMEOUT_MS", // default 10000
  acmeMaxValidations: "CERTMINT_ACME_MAX_VALIDATIONS", // default 100 per process
  acmeRateLimitPerSecond: "CERTMINT_ACME_RATE_LIMIT_PER_SECOND", // default 10 per account; 0: off
  acmeRateLimitBurst: "CERTMINT_ACME_RATE_LIMIT_BURST", // default 100
  acmeNewAccountsPerAddressPerHour: "CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR", // default 10; 0: off
  acmeBaseUrl: "CERTMINT_ACME_BASE_URL", // optional: the ACME listener's public origin
  metricsListen: "CERTMINT_METRICS_LISTEN", // optional: HTTP for GET /metrics (Prometheus)
  metricsTokenFile: "CERTMINT_METRICS_TOKEN_FILE", // optional: the bearer token /metrics asks for
  ocspUrl: "CERTMINT_OCSP_URL", // optional: OCSP URL in the AIA of issued certificates
  ocspCacheSeconds: "CERTMINT_OCSP_CACHE_SECONDS", // default 60
  ocspValiditySeconds: "CERTMINT_OCSP_VALIDITY_SECONDS", // default 3600
  ocspResponder: "CERTMINT_OCSP_RESPONDER", // default ca; or delegated
  ocspSigningsPerAddressPerSecond: "CERTMINT_OCSP_SIGNINGS_PER_ADDRESS_PER_SECOND", // default 10; 0: off
  publicationRequestsPerAddressPerSecond: "CERTMINT_PUBLICATION_REQUESTS_PER_ADDRESS_PER_SECOND", // default 100; 0: off
  credentialFreeCallsPerAddressPerSecond: "CERTMINT_CREDENTIAL_FREE_CALLS_PER_ADDRESS_PER_SECOND", // default 100
  logFormat: "CERTMINT_LOG_FORMAT", // default auto: text on a terminal, JSON otherwise
  logBufferBytes: "CERTMINT_LOG_BUFFER_BYTES", // default 8 MiB of log lines while stdout is not read
  renewalEnabled: "CERTMINT_RENEWAL_ENABLED", // default true
  renewalTickMs: "CERTMINT_RENEWAL_TICK_MS", // default 1000
  renewalPerSecond: "CERTMINT_RENEWAL_PER_SECOND", // default 20 per replica
  renewalLeaseSeconds: "CERTMINT_RENEWAL_LEASE_SECONDS", // default 300
  renewalRetrySeconds: "CERTMINT_RENEWAL_RETRY_SECONDS", // default 60, doubling
  renewalRetryMaxSeconds: "CERTMINT_RENEWAL_RETRY_MAX_SECONDS", // default 3600
  renewalKeyHoldSeconds: "CERTMINT_RENEWAL_KEY_HOLD_SECONDS", // default 86400
  watchKeepaliveMs: "CERTMINT_WATCH_KEEPALIVE_MS", // default 30000
  watchPollMs: "CERTMINT_WATCH_POLL_MS", // default 1000 (embedded: 250)
  watchRetentionSeconds: "CERTMINT_WATCH_RETENTION_SECONDS", // default 604800 (7 days)
  watchStreamsPerToken: "CERTMINT_WATCH_STREAMS_PER_TOKEN", // default 100
  watchKeysPerTokenPerSecond: "CERTMINT_WATCH_KEYS_PER_TOKEN_PER_SECOND", // default 50 per process; 0: off
  watchKeysBurstPerToken: "CERTMINT_WATCH_KEYS_BURST_PER_TOKEN", // default 500
  processes: "CERTMINT_PROCESSES", // default 1; auto: one per core (PostgreSQL only)
} as const;

const LOG_FORMATS = ["auto", "json", "pretty"] as const;

/**
 * CERTMINT_* variables that are not server settings but are legitimately found in the server's
 * environment, so the check of names below lets them be: the CLI's (a shell or a unit file that
 * runs both), the test suite's and the scripts' own (servers started by them inherit them).
 */
export const OTHER_CERTMINT_VARIABLES = [
  "CERTMINT_SERVER", // the CLI: certmint's gRPC address (src/cli/connection.ts)
  "CERTMINT_TOKEN", // the CLI: the access token (src/cli/connection.ts)
  "CERTMINT_DEBUG", // the CLI: stack traces of failures (src/cli/report-failure.ts)
  "CERTMINT_TEST_LOG_DIR", // the tests: where server logs are collected (test/support)
  "CERTMINT_TEST_RUN", // the tests: the run's database tag (test/support/postgres.ts)
  "CERTMINT_MEASURE_PORT", // scripts/measure-startup.sh
  "CERTMINT_MEASURE_REV", // scripts/measure-startup.sh
] as const;

/**
 * Names someone may have meant DATABASE_URL by. Set while DATABASE_URL is not, they are refused:
 * certmint would otherwise start a new, empty embedded PKI in the data directory (an outside
 * probe: DATABASE_URI=... served a second PKI with a new admin token and no CAs).
 */
export const DATABASE_URL_NEAR_MISSES = [
  "DATABASE_URI",
  "DATABASE_URL_",
  "DATABASEURL",
  "DATABSE_URL",
  "DATABASE_ULR",
  "DB_URL",
  "DB_URI",
  "POSTGRES_URL",
  "POSTGRES_URI",
  "POSTGRESQL_URL",
  "POSTGRESQL_URI",
  "PG_URL",
  "PG_URI",
  "PGURL",
  "PGURI",
] as const;

const CERTMINT_PREFIX = "CERTMINT_";

/**
 * Every CERTMINT_* variable must be one certmint knows: a misspelt one (CERTMINT_LISTN,
 * CERTMINT_TLS_REQUIRE_CLIENT_CERTS) used to be ignored, its setting left at the default (mTLS
 * optional, a KEK generated beside the database). Names are compared case-insensitively with
 * the prefix, so certmint_listen is caught too. A near miss of DATABASE_URL without
 * DATABASE_URL is refused as well. Values are never echoed.
 */
function checkVariableNames(env: NodeJS.ProcessEnv, problems: string[]): void {
  const settings: readonly string[] = Object.values(ENV);
  const known = new Set<string>([...settings, ...OTHER_CERTMINT_VARIABLES]);
  for (const name of Object.keys(env).sort()) {
    if (env[name] === undefined) continue;
    if (name.toUpperCase().startsWith(CERTMINT_PREFIX) && !known.has(name)) {
      problems.push(
        `${name} is not a certmint setting; did you mean ${closestName(name, [...known])}?`,
      );
    }
  }
  if (env[ENV.databaseUrl]) return;
  for (const name of Object.keys(env).sort()) {
    if (env[name] === undefined || name === ENV.databaseUrl) continue;
    const upper = name.toUpperCase();
    if (
      upper === ENV.databaseUrl ||
      (DATABASE_URL_NEAR_MISSES as readonly string[]).includes(upper)
    ) {
      problems.push(
        `${name} is set but certmint reads ${ENV.databaseUrl}; without it certmint would start a new, empty embedded database: rename it to ${ENV.databaseUrl}, or unset ${name} to use the embedded database`,
      );
    }
  }
}

/**
 * The known name closest to a misspelt one (optimal string alignment distance, case-insensitive:
 * a swap of two letters counts once); CERTMINT_DATABASE_URL is taken for DATABASE_URL.
 */
function closestName(name: string, known: readonly string[]): string {
  const upper = name.toUpperCase();
  if (upper === CERTMINT_PREFIX + ENV.databaseUrl) return ENV.databaseUrl;
  let best = known[0]!;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of [...known].sort()) {
    const d = editDistance(upper, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * What src/signer/kek.ts (decodeBase64Kek) accepts for a base64 KEK, once trimmed: 32 bytes in
 * canonical padded base64. Kept the same here, so a key it would refuse is refused before
 * anything is created.
 */
const BASE64_KEK = /^[A-Za-z0-9+/]{43}=$/;

/**
 * A burst set for a limit whose rate is 0 (off) means nothing: refused, rather than leaving the
 * operator to believe the limit is on.
 */
function burstWithoutRate(
  env: NodeJS.ProcessEnv,
  rateName: string,
  burstName: string,
  rate: number,
  problems: string[],
): void {
  if (rate === 0 && env[rateName] && env[burstName]) {
    problems.push(
      `${burstName} is set but ${rateName}=0 turns that limit off: set a rate, or unset ${burstName}`,
    );
  }
}

type ListenAddress = { readonly host: string; readonly port: number };

/**
 * Two of certmint's own listen addresses on one port (port 0 aside) fail the start (EADDRINUSE)
 * only after a first start created the key-encryption key, the admin token and the database:
 * the check that binds each address (server/listen-check.ts) closes it before the next.
 * Refused here, naming both variables. Hosts clash when they are the same address, when one
 * is a wildcard (:: takes the port on every address, 0.0.0.0 on every IPv4 one), or for
 * localhost and a loopback address.
 */
function checkListenConflicts(
  addresses: ReadonlyArray<readonly [string, ListenAddress | undefined]>,
  problems: string[],
): void {
  for (let i = 0; i < addresses.length; i++) {
    const [nameA, a] = addresses[i]!;
    if (!a || a.port === 0 || a.host === "") continue;
    for (let j = i + 1; j < addresses.length; j++) {
      const [nameB, b] = addresses[j]!;
      if (!b || b.port !== a.port || b.host === "" || !hostsClash(a.host, b.host)) continue;
      problems.push(
        `${nameA}=${formatListen(a)} and ${nameB}=${formatListen(b)} take the same port: give each its own port`,
      );
    }
  }
}

function formatListen({ host, port }: ListenAddress): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** A listen host in one spelling: lower case, IPv6 compressed, IPv4-mapped IPv6 as IPv4. */
function canonicalHost(host: string): string {
  const h = host.toLowerCase().replace(/\.$/, "");
  if (isIP(h) !== 6) return h;
  const compressed = new URL(`http://[${h}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(compressed);
  if (!mapped) return compressed;
  const hi = Number.parseInt(mapped[1]!, 16);
  const lo = Number.parseInt(mapped[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

function hostsClash(first: string, second: string): boolean {
  const a = canonicalHost(first);
  const b = canonicalHost(second);
  if (a === b || a === "::" || b === "::") return true;
  // 0.0.0.0 takes the port on every IPv4 address; a name may resolve to one.
  if (a === "0.0.0.0" || b === "0.0.0.0") return isIP(a === "0.0.0.0" ? b : a) !== 6;
  const loopback = (h: string) => h === "localhost" || h === "127.0.0.1" || h === "::1";
  return (a === "localhost" || b === "localhost") && loopback(a) && loopback(b);
}

/**
 * The warning to log at start when /metrics listens where more than this machine can reach it:
 * the endpoint has no authentication, and its series name profiles, CAs and the issuers of
 * outside client CAs. Undefined when it is off or on a loopback address.
 */
export function metricsExposureWarning(
  config: Pick<Config, "metricsListen" | "metricsTokenFile">,
): string | undefined {
  const metrics = config.metricsListen;
  if (!metrics || isLoopbackHost(metrics.host)) return undefined;
  if (config.metricsTokenFile) {
    return `${ENV.metricsListen}=${formatListen(metrics)} is not a loopback address: /metrics is plain HTTP, so the bearer token of ${ENV.metricsTokenFile} crosses the network readable; make sure only Prometheus can reach it (a firewall, or a loopback or private address)`;
  }
  return `${ENV.metricsListen}=${formatListen(metrics)} is not a loopback address: /metrics has no authentication and names profiles and CAs; make sure only Prometheus can reach it (a firewall, or a loopback or private address), and set ${ENV.metricsTokenFile}`;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const problems: string[] = [];
  checkVariableNames(env, problems);
  const rawListen = env[ENV.listen] ?? "127.0.0.1:50051";
  const listen = parseListen(rawListen, problems);
  const databaseUrl = parseDatabaseUrl(env[ENV.databaseUrl], problems);
  const rawDataDir = env[ENV.dataDir] ?? "./data";
  if (rawDataDir.trim() === "") problems.push(`${ENV.dataDir} must not be empty`);
  const dataDir = isAbsolute(rawDataDir) ? rawDataDir : resolve(cwd, rawDataDir);
  const logLevel = (env[ENV.logLevel] ?? "info") as Config["logLevel"];
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`${ENV.logLevel} must be one of ${LOG_LEVELS.join(", ")} (got "${logLevel}")`);
  }
  const shutdownGraceMs = parseInteger(env, ENV.shutdownGraceMs, 10_000, 0, 600_000, problems);
  // 0 by default: the right delay is how long the deployment's router (Kubernetes endpoints,
  // a load balancer's health checks) takes to stop sending new connections, which only the
  // deployment knows; without such a router (systemd, a terminal) a delay only slows every stop.
  const shutdownDrainDelayMs = parseInteger(env, ENV.shutdownDrainDelayMs, 0, 0, 300_000, problems);
  const databasePoolSize = parseInteger(env, ENV.databasePoolSize, 10, 1, 200, problems);
  const databaseIdleTimeoutMs = parseInteger(
    env,
    ENV.databaseIdleTimeoutMs,
    30_000,
    100,
    3_600_000,
    problems,
  );
  const kekBase64 = env[ENV.kek] || undefined;
  const kekFile = env[ENV.kekFile] || undefined;
  if (kekBase64 !== undefined && kekFile !== undefined) {
    problems.push(`set ${ENV.kek} or ${ENV.kekFile}, not both`);
  }
  if (kekBase64 !== undefined && !BASE64_KEK.test(kekBase64.trim())) {
    // Never echo the value, nor its length: it is the key. Node's Buffer.from(x, "base64")
    // skips characters outside the alphabet, so a key with stray characters passed here and
    // failed only after the embedded database was created (an outside probe, F3).
    problems.push(
      `${ENV.kek} must be the base64 of exactly 32 random bytes: 44 characters of A-Z a-z 0-9 + / ending in '=' (openssl rand -base64 32)`,
    );
  }
  const publicBaseUrl = parsePublicBaseUrl(env[ENV.publicBaseUrl], problems);
  const crlValiditySeconds = parseInteger(
    env,
    ENV.crlValiditySeconds,
    86_400,
    60,
    31_536_000,
    problems,
  );
  const tls = parseTls(env, cwd, problems);
  const allowPlaintext = parseBoolean(env, ENV.allowPlaintext, problems);
  if (
    tls === undefined &&
    !env[ENV.tlsCertFile] &&
    !env[ENV.tlsKeyFile] &&
    listen.host !== "" &&
    !isLoopbackHost(listen.host) &&
    !allowPlaintext
  ) {
    problems.push(
      `${ENV.listen}=${rawListen}: certmint refuses plaintext on a non-loopback address; ` +
        `set ${ENV.tlsCertFile}/KEY_FILE, or ${ENV.allowPlaintext}=true to accept the risk`,
    );
  }
  const perSecond = parseInteger(env, ENV.rateLimitPerSecond, 1000, 0, 1_000_000, problems);
  const burst = parseInteger(
    env,
    ENV.rateLimitBurst,
    Math.max(1, perSecond * 2),
    1,
    10_000_000,
    problems,
  );
  const failuresPerSecond = parseInteger(
    env,
    ENV.authFailureLimitPerSecond,
    10,
    0,
    1_000_000,
    problems,
  );
  const failureBurst = parseInteger(env, ENV.authFailureLimitBurst, 100, 1, 10_000_000, problems);
  burstWithoutRate(env, ENV.rateLimitPerSecond, ENV.rateLimitBurst, perSecond, problems);
  burstWithoutRate(
    env,
    ENV.authFailureLimitPerSecond,
    ENV.authFailureLimitBurst,
    failuresPerSecond,
    problems,
  );
  const maxMessageBytes = parseInteger(
    env,
    ENV.maxMessageBytes,
    4 * 1024 * 1024,
    64 * 1024,
    64 * 1024 * 1024,
    problems,
  );
  const rawPublication = env[ENV.publicationListen] || undefined;
  const publicationListen = rawPublication
    ? parseListen(rawPublication, problems, ENV.publicationListen)
    : undefined;
  const crlCacheSeconds = parseInteger(env, ENV.crlCacheSeconds, 60, 0, 86_400, problems);
  const generatedKeyReplaySeconds = parseInteger(
    env,
    ENV.generatedKeyReplaySeconds,
    3_600,
    0,
    7 * 86_400,
    problems,
  );
  const connections = parseConnectionLimits(env, problems);
  const processes = parseProcesses(env[ENV.processes], databaseUrl, problems);
  const keyGeneration = {
    workers: parseInteger(
      env,
      ENV.keyGenerationWorkers,
      defaultKeyGenerationWorkers(availableParallelism(), processes.count),
      1,
      256,
      problems,
    ),
    queuePerToken: parseInteger(env, ENV.keyGenerationQueuePerToken, 8, 1, 10_000, problems),
  };
  // None by default: on 2 cores shared with PostgreSQL one thread cost 4-7% of the issuance
  // rate at 16 and 64 clients and 15 MiB of RSS (`make bench-issue` with CERTMINT_CSR_WORKERS=0
  // and 1, back to back); it can pay only where a process has cores no one else uses.
  const csrWorkers = parseInteger(env, ENV.csrWorkers, 0, 0, 64, problems);
  // 3 s: about 10x the slowest page measured at 10^6 certificates (a name_contains of common
  // trigrams, 303 ms on a slow day; pages are 3-40 ms p50, under 65 ms p99: README, bench-scale),
  // and short of a walk of the whole table, which then holds a pooled connection for seconds.
  const listQueryTimeoutMs = parseInteger(env, ENV.listQueryTimeoutMs, 3_000, 0, 600_000, problems);
  // 2 of the default pool's 10 connections: a token paging through two lists at once (a UI and
  // an export) is not slowed, and five tokens listing at once still leave room for issuance.
  const listQueriesPerToken = parseInteger(env, ENV.listQueriesPerToken, 2, 0, 1_000, problems);
  // Each running list may hold a page of 1,000 certificates with their PEMs, some 10 MB of heap,
  // until its answer is built (issuance/common/list-gate.ts): 4 of them fit beside the rest of
  // a server whose heap is bounded at 160 MB (bench/memory/probe.ts).
  const listQueries = parseInteger(env, ENV.listQueries, 4, 0, 1_000, problems);
  // 1,000: a backlog an approver works through, well past what a backend asks for between
  // decisions, and far short of the rows a token at its rate limit writes in a minute.
  const pendingApprovalsPerToken = parseInteger(
    env,
    ENV.pendingApprovalsPerToken,
    1_000,
    0,
    10_000_000,
    problems,
  );
  // Each refused request is a FAILED row and an audit record: 10 a second (a burst of 100) is
  // far more than a backend that fixes its requests sends, and bounds what one token writes to
  // 864,000 rows a day where its call rate (1,000/s) allowed 86 million.
  const refusalLimit = Object.freeze({
    perSecond: parseInteger(env, ENV.refusalLimitPerSecond, 10, 0, 1_000_000, problems),
    burst: parseInteger(env, ENV.refusalLimitBurst, 100, 1, 10_000_000, problems),
  });
  burstWithoutRate(
    env,
    ENV.refusalLimitPerSecond,
    ENV.refusalLimitBurst,
    refusalLimit.perSecond,
    problems,
  );
  const databaseProbeIntervalMs = parseInteger(
    env,
    ENV.databaseProbeIntervalMs,
    1000,
    50,
    60_000,
    problems,
  );
  const acme = parseAcme(env, cwd, tls, allowPlaintext, problems);
  const rawMetrics = env[ENV.metricsListen] || undefined;
  const metricsListen = rawMetrics
    ? parseListen(rawMetrics, problems, ENV.metricsListen)
    : undefined;
  const rawMetricsToken = env[ENV.metricsTokenFile] || undefined;
  if (rawMetricsToken && !rawMetrics) {
    problems.push(
      `${ENV.metricsTokenFile} is set but ${ENV.metricsListen} is not: there is no /metrics for the token to protect`,
    );
  }
  const metricsTokenFile =
    rawMetricsToken &&
    (isAbsolute(rawMetricsToken) ? rawMetricsToken : resolve(cwd, rawMetricsToken));
  const ocspUrl = withoutUserInfo(
    parseHttpUrl(env[ENV.ocspUrl], ENV.ocspUrl, problems),
    ENV.ocspUrl,
    problems,
  );
  const ocspCacheSeconds = parseInteger(env, ENV.ocspCacheSeconds, 60, 0, 86_400, problems);
  const ocspValiditySeconds = parseInteger(
    env,
    ENV.ocspValiditySeconds,
    3_600,
    60,
    7 * 86_400,
    problems,
  );
  const ocspSigningsPerAddressPerSecond = parseInteger(
    env,
    ENV.ocspSigningsPerAddressPerSecond,
    10,
    0,
    1_000_000,
    problems,
  );
  const publicationRequestsPerAddressPerSecond = parseInteger(
    env,
    ENV.publicationRequestsPerAddressPerSecond,
    100,
    0,
    1_000_000,
    problems,
  );
  const credentialFreeCallsPerAddressPerSecond = parseInteger(
    env,
    ENV.credentialFreeCallsPerAddressPerSecond,
    100, // server/credential-free-calls.ts CREDENTIAL_FREE_CALLS_PER_SECOND
    1,
    1_000_000,
    problems,
  );
  const ocspResponder = (env[ENV.ocspResponder] || "ca") as Config["ocspResponder"];
  if (ocspResponder !== "ca" && ocspResponder !== "delegated") {
    problems.push(`${ENV.ocspResponder} must be ca or delegated (got "${ocspResponder}")`);
  }
  const logFormat = (env[ENV.logFormat] || "auto") as Config["logFormat"];
  if (!LOG_FORMATS.includes(logFormat)) {
    problems.push(`${ENV.logFormat} must be one of ${LOG_FORMATS.join(", ")} (got "${logFormat}")`);
  }
  const logBufferBytes = parseInteger(
    env,
    ENV.logBufferBytes,
    8 * 1024 * 1024,
    16 * 1024,
    1024 * 1024 * 1024,
    problems,
  );
  const renewal = parseRenewal(env, problems);
  const watch = {
    keepaliveMs: parseInteger(env, ENV.watchKeepaliveMs, 30_000, 100, HOUR_MS, problems),
    pollMs: parseInteger(env, ENV.watchPollMs, databaseUrl ? 1000 : 250, 10, 60_000, problems),
    retentionSeconds: parseInteger(
      env,
      ENV.watchRetentionSeconds,
      7 * 86_400,
      60,
      365 * 86_400,
      problems,
    ),
    // 100: a backend watching each of its certificates' lineages, or a few profiles, fits; one
    // token holding thousands of streams does not (bench/fairness/watch-flood.ts).
    streamsPerToken: parseInteger(env, ENV.watchStreamsPerToken, 100, 1, 100_000, problems),
    // Each key handed out is an audit record, a blocked-key read and an unseal: one issuer's
    // streams replaying every held key made ~560 a second and everyone else 40 times slower
    // (an outside probe, 2026-12-06; src/issuance/events/watch.ts WATCH_KEYS_PER_TOKEN_PER_SECOND).
    keysPerTokenPerSecond: parseInteger(
      env,
      ENV.watchKeysPerTokenPerSecond,
      50,
      0,
      1_000_000,
      problems,
    ),
    keysBurstPerToken: parseInteger(env, ENV.watchKeysBurstPerToken, 500, 1, 10_000_000, problems),
  };
  burstWithoutRate(
    env,
    ENV.watchKeysPerTokenPerSecond,
    ENV.watchKeysBurstPerToken,
    watch.keysPerTokenPerSecond,
    problems,
  );
  checkListenConflicts(
    [
      [ENV.listen, listen],
      [ENV.publicationListen, publicationListen],
      [ENV.metricsListen, metricsListen],
      [ENV.acmeListen, acme?.listen],
    ],
    problems,
  );
  if (problems.length > 0) throw new ConfigError(problems.join("; "));
  return Object.freeze({
    listen: Object.freeze(listen),
    databaseUrl,
    dataDir,
    logLevel,
    shutdownGraceMs,
    shutdownDrainDelayMs,
    databasePoolSize,
    databaseIdleTimeoutMs,
    kek: Object.freeze(
      kekBase64 !== undefined
        ? { base64: kekBase64 }
        : { file: kekFile ? resolve(cwd, kekFile) : resolve(dataDir, "kek.key") },
    ),
    publicBaseUrl,
    crlValiditySeconds,
    tls: tls && Object.freeze(tls),
    allowPlaintext,
    rateLimit: Object.freeze({ perSecond, burst }),
    authFailureLimit: Object.freeze({ perSecond: failuresPerSecond, burst: failureBurst }),
    maxMessageBytes,
    adminTokenFile: resolve(dataDir, "admin-token"),
    publicationListen: publicationListen && Object.freeze(publicationListen),
    crlCacheSeconds,
    generatedKeyReplaySeconds,
    connections: Object.freeze(connections),
    maxConnectionsSet: Boolean(env[ENV.maxConnections]),
    keyGeneration: Object.freeze(keyGeneration),
    csrWorkers,
    databaseProbeIntervalMs,
    listQueryTimeoutMs,
    listQueriesPerToken,
    listQueries,
    pendingApprovalsPerToken,
    refusalLimit,
    acme: acme && Object.freeze(acme),
    metricsListen: metricsListen && Object.freeze(metricsListen),
    ...(metricsTokenFile ? { metricsTokenFile } : {}),
    ocspUrl,
    ocspCacheSeconds,
    ocspValiditySeconds,
    ocspResponder,
    ocspSigningsPerAddressPerSecond,
    publicationRequestsPerAddressPerSecond,
    credentialFreeCallsPerAddressPerSecond,
    logFormat,
    logBufferBytes,
    renewal: Object.freeze(renewal),
    watch: Object.freeze(watch),
    processes: Object.freeze(processes),
  });
}

/** Above this, a typo (CERTMINT_PROCESSES=100 for 10) more likely than a machine that needs it. */
const MAX_PROCESSES = 64;

function parseProcesses(
  raw: string | undefined,
  databaseUrl: string | undefined,
  problems: string[],
): ProcessesConfig {
  if (raw === undefined || raw === "") return { count: 1, autoLimitedByEmbedded: false };
  if (raw === "auto") {
    const cores = Math.min(MAX_PROCESSES, availableParallelism());
    return databaseUrl
      ? { count: cores, autoLimitedByEmbedded: false }
      : { count: 1, autoLimitedByEmbedded: cores > 1 };
  }
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_PROCESSES) {
    problems.push(
      `${ENV.processes} must be auto or an integer from 1 to ${MAX_PROCESSES} (got "${raw}")`,
    );
    return { count: 1, autoLimitedByEmbedded: false };
  }
  const count = Number(raw);
  if (count > 1 && !databaseUrl) {
    problems.push(
      `${ENV.processes}=${count} needs ${ENV.databaseUrl}: the embedded database lives in one process and cannot be shared by several; set ${ENV.databaseUrl} to a PostgreSQL, or ${ENV.processes}=1`,
    );
    return { count: 1, autoLimitedByEmbedded: false };
  }
  return { count, autoLimitedByEmbedded: false };
}

/**
 * RSA key-generation threads per process when CERTMINT_KEY_GENERATION_WORKERS is unset: the
 * cores left once each process's event loop has one, shared among the processes (cores - 1
 * with one process), at least one each.
 */
export function defaultKeyGenerationWorkers(cores: number, processes: number): number {
  return Math.max(1, Math.floor(cores / processes) - 1);
}

function parseAcme(
  env: NodeJS.ProcessEnv,
  cwd: string,
  grpcTls: TlsConfig | undefined,
  allowPlaintext: boolean,
  problems: string[],
): AcmeConfig | undefined {
  const raw = env[ENV.acmeListen] || undefined;
  if (!raw) return undefined;
  const listen = parseListen(raw, problems, ENV.acmeListen);
  const certFile = env[ENV.acmeTlsCertFile] || undefined;
  const keyFile = env[ENV.acmeTlsKeyFile] || undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    problems.push(`set both ${ENV.acmeTlsCertFile} and ${ENV.acmeTlsKeyFile}, or neither`);
  }
  const tls: TlsConfig | undefined =
    certFile && keyFile
      ? {
          certFile: resolve(cwd, certFile),
          keyFile: resolve(cwd, keyFile),
          requireClientCert: false,
          reloadIntervalMs: grpcTls?.reloadIntervalMs ?? 30_000,
          variables: { certFile: ENV.acmeTlsCertFile, keyFile: ENV.acmeTlsKeyFile },
        }
      : grpcTls && {
          ...grpcTls,
          clientCaFile: undefined,
          clientCrlFile: undefined,
          requireClientCert: false,
        };
  if (!tls && listen.host !== "" && !isLoopbackHost(listen.host) && !allowPlaintext) {
    problems.push(
      `${ENV.acmeListen}=${raw}: ACME without TLS is refused on a non-loopback address; ` +
        `set ${ENV.tlsCertFile}/KEY_FILE, or ${ENV.allowPlaintext}=true to accept the risk`,
    );
  }
  const networks = env[ENV.acmeValidationNetworks] || undefined;
  if (networks !== undefined) {
    for (const cidr of networks.split(",").map((n) => n.trim())) {
      const [address, bits] = cidr.split("/");
      const family = isIP(address ?? "");
      const max = family === 4 ? 32 : 128;
      if (family === 0 || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= max))) {
        problems.push(
          `${ENV.acmeValidationNetworks} must be comma-separated addresses or CIDRs, e.g. 10.0.0.0/8,fd00::/8 (got "${cidr}")`,
        );
      }
    }
  }
  const resolvers = (env[ENV.acmeDnsResolvers] ?? "")
    .split(",")
    .map((r) => r.trim())
    .filter((r) => r !== "");
  const perSecond = parseInteger(env, ENV.acmeRateLimitPerSecond, 10, 0, 1_000_000, problems);
  burstWithoutRate(env, ENV.acmeRateLimitPerSecond, ENV.acmeRateLimitBurst, perSecond, problems);
  const baseUrl = parseAcmeBaseUrl(env[ENV.acmeBaseUrl], problems);
  return {
    listen,
    ...(baseUrl === undefined ? {} : { baseUrl }),
    ...(tls ? { tls } : {}),
    ...(networks === undefined ? {} : { validationNetworks: networks }),
    dnsResolvers: Object.freeze(resolvers),
    http01Port: parseInteger(env, ENV.acmeHttp01Port, 80, 1, 65535, problems),
    tlsAlpn01Port: parseInteger(env, ENV.acmeTlsAlpn01Port, 443, 1, 65535, problems),
    validationTimeoutMs: parseInteger(
      env,
      ENV.acmeValidationTimeoutMs,
      10_000,
      100,
      120_000,
      problems,
    ),
    maxValidations: parseInteger(env, ENV.acmeMaxValidations, 100, 1, 10_000, problems),
    rateLimit: {
      perSecond,
      burst: parseInteger(env, ENV.acmeRateLimitBurst, 100, 1, 10_000_000, problems),
    },
    // Let's Encrypt allows 10 new registrations per IP address per 3 hours.
    newAccountsPerAddressPerHour: parseInteger(
      env,
      ENV.acmeNewAccountsPerAddressPerHour,
      10,
      0,
      1_000_000,
      problems,
    ),
  };
}

function parseRenewal(env: NodeJS.ProcessEnv, problems: string[]): RenewalConfig {
  const int = (name: string, fallback: number, min: number, max: number) =>
    parseInteger(env, name, fallback, min, max, problems);
  const enabledRaw = env[ENV.renewalEnabled];
  const enabled =
    enabledRaw === undefined ||
    enabledRaw === "" ||
    parseBoolean(env, ENV.renewalEnabled, problems);
  const retrySeconds = int(ENV.renewalRetrySeconds, 60, 1, 86_400);
  const retryMaxSeconds = int(ENV.renewalRetryMaxSeconds, 3600, 1, 7 * 86_400);
  if (retryMaxSeconds < retrySeconds) {
    problems.push(`${ENV.renewalRetryMaxSeconds} must be at least ${ENV.renewalRetrySeconds}`);
  }
  return {
    enabled,
    tickMs: int(ENV.renewalTickMs, 1000, 10, 600_000),
    perSecond: int(ENV.renewalPerSecond, 20, 1, 100_000),
    leaseSeconds: int(ENV.renewalLeaseSeconds, 300, 1, 86_400),
    retrySeconds,
    retryMaxSeconds,
    keyHoldSeconds: int(ENV.renewalKeyHoldSeconds, 86_400, 60, 30 * 86_400),
  };
}

const HOUR_MS = 3_600_000;

function parseConnectionLimits(env: NodeJS.ProcessEnv, problems: string[]): ConnectionLimits {
  const ms = (name: string, fallback: number, min: number, max: number) =>
    parseInteger(env, name, fallback, min, max, problems);
  const KIB = 1024;
  const MIB = 1024 * KIB;
  const GIB = 1024 * MIB;
  const listRowsPerTokenPerSecond = ms(ENV.listRowsPerTokenPerSecond, 2000, 0, 100_000_000);
  burstWithoutRate(
    env,
    ENV.listRowsPerTokenPerSecond,
    ENV.listRowsBurstPerToken,
    listRowsPerTokenPerSecond,
    problems,
  );
  return {
    handshakeTimeoutMs: ms(ENV.handshakeTimeoutMs, 10_000, 50, 600_000),
    idleTimeoutMs: ms(ENV.connectionIdleTimeoutMs, 300_000, 50, 24 * HOUR_MS),
    maxAgeMs: ms(ENV.connectionMaxAgeMs, 1_800_000, 50, 24 * HOUR_MS),
    maxAgeGraceMs: ms(ENV.connectionMaxAgeGraceMs, 30_000, 0, HOUR_MS),
    keepaliveTimeMs: ms(ENV.keepaliveTimeMs, 60_000, 50, 24 * HOUR_MS),
    keepaliveTimeoutMs: ms(ENV.keepaliveTimeoutMs, 20_000, 50, HOUR_MS),
    maxConnections: ms(ENV.maxConnections, 1000, 1, 1_000_000),
    maxConnectionsPerAddress: env[ENV.maxConnectionsPerAddress]
      ? ms(ENV.maxConnectionsPerAddress, 1, 1, 1_000_000)
      : undefined,
    maxConcurrentStreams: ms(ENV.maxConcurrentStreams, 250, 1, 1_000_000),
    maxOpenCalls: ms(ENV.maxOpenCalls, 10_000, 4, 10_000_000),
    unreadAnswerBytesPerConnection: ms(
      ENV.unreadAnswerBytesPerConnection,
      32 * MIB,
      64 * KIB,
      64 * GIB,
    ),
    unreadAnswerBytesPerToken: ms(ENV.unreadAnswerBytesPerToken, 64 * MIB, 64 * KIB, 64 * GIB),
    unreadAnswerBytes: ms(ENV.unreadAnswerBytes, 256 * MIB, 64 * KIB, 64 * GIB),
    callsInProgress: ms(ENV.callsInProgress, 64, 1, 100_000),
    callsQueuedPerToken: ms(ENV.callsQueuedPerToken, 1000, 1, 1_000_000),
    // Two full pages of ListCertificates a second, ten at once: one auditor looping full pages
    // (~19,000 rows a second) made another token's calls 6-25 times slower (an outside probe,
    // 2026-12-06; src/api/fair-admission.ts LIST_ROWS_PER_TOKEN_PER_SECOND).
    listRowsPerTokenPerSecond,
    listRowsBurstPerToken: ms(ENV.listRowsBurstPerToken, 10_000, 1, 100_000_000),
  };
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/**
 * Whether a listen host is a loopback address: 127.0.0.0/8, ::1 (in any spelling, also
 * IPv4-mapped ::ffff:127.x.y.z) or the name localhost (RFC 6761 6.3).
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "localhost" || h === "localhost.") return true;
  const family = isIP(h);
  return family !== 0 && LOOPBACK.check(h, family === 4 ? "ipv4" : "ipv6");
}

function parseTls(env: NodeJS.ProcessEnv, cwd: string, problems: string[]): TlsConfig | undefined {
  const certFile = env[ENV.tlsCertFile] || undefined;
  const keyFile = env[ENV.tlsKeyFile] || undefined;
  const clientCaFile = env[ENV.tlsClientCaFile] || undefined;
  const requireClientCert = parseBoolean(env, ENV.tlsRequireClientCert, problems);
  const clientCrlFile = env[ENV.tlsClientCrlFile] || undefined;
  if (clientCrlFile !== undefined && clientCaFile === undefined) {
    problems.push(
      `${ENV.tlsClientCrlFile} needs ${ENV.tlsClientCaFile} (the CAs whose CRLs it holds)`,
    );
  }
  const reloadIntervalMs = parseInteger(
    env,
    ENV.tlsReloadIntervalMs,
    30_000,
    100,
    3_600_000,
    problems,
  );
  if ((certFile === undefined) !== (keyFile === undefined)) {
    const [given, missing] =
      certFile === undefined
        ? [ENV.tlsKeyFile, ENV.tlsCertFile]
        : [ENV.tlsCertFile, ENV.tlsKeyFile];
    problems.push(`${given} is set but ${missing} is not: TLS needs both`);
  }
  if (requireClientCert && clientCaFile === undefined) {
    problems.push(
      `${ENV.tlsRequireClientCert}=true needs ${ENV.tlsClientCaFile} (the CAs whose client certificates are accepted)`,
    );
  }
  if (certFile === undefined || keyFile === undefined) {
    if (clientCaFile !== undefined) {
      problems.push(
        `${ENV.tlsClientCaFile} needs TLS: set ${ENV.tlsCertFile} and ${ENV.tlsKeyFile}`,
      );
    }
    return undefined;
  }
  return {
    certFile: resolve(cwd, certFile),
    keyFile: resolve(cwd, keyFile),
    ...(clientCaFile === undefined ? {} : { clientCaFile: resolve(cwd, clientCaFile) }),
    ...(clientCrlFile === undefined || clientCaFile === undefined
      ? {}
      : { clientCrlFile: resolve(cwd, clientCrlFile) }),
    requireClientCert,
    reloadIntervalMs,
  };
}

function parseBoolean(env: NodeJS.ProcessEnv, name: string, problems: string[]): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "" || raw === "false") return false;
  if (raw === "true") return true;
  problems.push(`${name} must be true or false (got "${raw}")`);
  return false;
}

/**
 * CERTMINT_ACME_BASE_URL: an http(s) origin, its trailing slash dropped. A path, query,
 * fragment or user info is refused: the listener serves /acme/<profile>/... at its root, and
 * the URLs it hands out are this origin followed by that path.
 */
function parseAcmeBaseUrl(value: string | undefined, problems: string[]): string | undefined {
  const checked = parseHttpUrl(value, ENV.acmeBaseUrl, problems);
  if (checked === undefined) return undefined;
  const url = new URL(checked);
  if (
    url.pathname !== "/" ||
    url.search !== "" ||
    url.hash !== "" ||
    url.username !== "" ||
    url.password !== "" ||
    /[?#]$/.test(checked)
  ) {
    problems.push(
      `${ENV.acmeBaseUrl} must be an origin without a path, e.g. https://acme.example.com or https://acme.example.com:8443 (got "${withoutPassword(checked)}")`,
    );
    return undefined;
  }
  return url.origin;
}

function parsePublicBaseUrl(value: string | undefined, problems: string[]): string | undefined {
  return withoutUserInfo(
    parseHttpUrl(value, ENV.publicBaseUrl, problems),
    ENV.publicBaseUrl,
    problems,
  )?.replace(/\/+$/, "");
}

/**
 * A URL written into every certificate issued (CRL distribution point, AIA) must not carry a
 * user name or password (http://user:pw@host/): anyone holding a certificate would read them.
 * The value is not echoed: it holds the password.
 */
function withoutUserInfo(
  value: string | undefined,
  name: string,
  problems: string[],
): string | undefined {
  if (value === undefined) return undefined;
  const url = new URL(value);
  if (url.username === "" && url.password === "" && !/^[^/]*\/\/[^/?#]*@/.test(value)) {
    return value;
  }
  problems.push(
    `${name} must not hold a user name or password (user:password@): it is written into every certificate issued, where anyone can read it`,
  );
  return undefined;
}

/** A URL as a message may show it: any user info (user:password@) replaced by "...@". */
function withoutPassword(value: string): string {
  return value.replace(/^([^/]*\/\/)[^/?#]*@/, "$1...@");
}

function parseHttpUrl(
  value: string | undefined,
  name: string,
  problems: string[],
): string | undefined {
  if (value === undefined || value === "") return undefined;
  try {
    const url = new URL(value);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("scheme");
    return value;
  } catch {
    problems.push(
      `${name} must be an http(s) URL, e.g. http://pki.example.internal (got "${withoutPassword(value)}")`,
    );
    return undefined;
  }
}

function parseListen(
  value: string,
  problems: string[],
  name: string = ENV.listen,
): { host: string; port: number } {
  // host:port, or [v6]:port. The port must be explicit: 0 asks the OS for a free one.
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value);
  if (!m) {
    problems.push(`${name} must be host:port, e.g. 127.0.0.1:50051 (got "${value}")`);
    return { host: "", port: 0 };
  }
  const port = Number(m[3]);
  if (port > 65535) problems.push(`${name} port must be 0-65535 (got ${port})`);
  return { host: m[1] ?? m[2] ?? "", port };
}

function parseDatabaseUrl(value: string | undefined, problems: string[]): string | undefined {
  if (value === undefined || value === "") return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Never echo the value: it may hold a password.
    problems.push(
      `${ENV.databaseUrl} is not a valid URL (expected postgresql://user:pass@host:port/db)`,
    );
    return undefined;
  }
  // The driver decodes the user name and password (decodeURIComponent): a stray `%` failed
  // at the first connection, "URI malformed", exit 1 (an outside probe, stop 52).
  for (const [part, text] of [
    ["user name", url.username],
    ["password", url.password],
  ] as const) {
    try {
      decodeURIComponent(text);
    } catch {
      problems.push(
        `${ENV.databaseUrl}'s ${part} is not percent-encoded correctly: write a literal % as %25`,
      );
    }
  }
  // node-postgres reads a password only from the URL's user-info: one given as a query
  // parameter became a non-string and failed the authentication with a stack trace.
  if (url.searchParams.has("password")) {
    problems.push(
      `${ENV.databaseUrl} carries the password as a query parameter: put it in the URL (postgresql://user:password@host/db)`,
    );
  }
  if (url.protocol !== "postgresql:" && url.protocol !== "postgres:") {
    problems.push(`${ENV.databaseUrl} must start with postgresql:// (got ${url.protocol}//)`);
  } else if (!url.hostname || url.pathname.length <= 1) {
    problems.push(`${ENV.databaseUrl} must name a host and a database (postgresql://host:port/db)`);
  }
  // TLS to PostgreSQL (store/database-tls.ts): a mode node-postgres does not know would be
  // taken as verify-full, and a certificate file it cannot read fails later, at the first
  // connection; both are named here instead.
  const mode = url.searchParams.get("sslmode");
  if (mode !== null && !SSL_MODES.includes(mode)) {
    problems.push(
      `${ENV.databaseUrl}'s sslmode must be one of ${SSL_MODES.join(", ")} (got ${JSON.stringify(mode.slice(0, 32))})`,
    );
  }
  for (const file of ["sslrootcert", "sslcert", "sslkey"]) {
    const path = url.searchParams.get(file);
    if (path === null) continue;
    try {
      accessSync(path, constants.R_OK);
    } catch {
      problems.push(`${ENV.databaseUrl}'s ${file} (${JSON.stringify(path)}) cannot be read`);
    }
  }
  return value;
}

/** The sslmode values of a DATABASE_URL (node-postgres's reading of them: store/database-tls.ts). */
const SSL_MODES = ["disable", "prefer", "require", "verify-ca", "verify-full", "no-verify"];

function parseInteger(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
    return fallback;
  }
  return Number(raw);
}
