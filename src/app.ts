import { existsSync } from "node:fs";
import type { Server as HttpServer } from "node:http";
import { join } from "node:path";
import { Server, type ServerCredentials } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { RunningAcme } from "./acme";
import { accessTokenHandlers } from "./api/access-token-service";
import { auditHandlers } from "./api/audit-service";
import { certificateAuthorityHandlers } from "./api/certificate-authority-service";
import { certificatePolicyHandlers } from "./api/certificate-policy-service";
import { certificateProfileHandlers } from "./api/certificate-profile-service";
import { certificateHandlers } from "./api/certificate-service";
import { codeOf } from "./api/errors";
import { FairAdmission } from "./api/fair-admission";
import { registerServices } from "./api/services";
import { InFlightCalls } from "./api/unary";
import { UnreadAnswers } from "./api/unread-answers";
import { AccessControl } from "./auth/access-control";
import { Authenticator } from "./auth/authenticator";
import { ensureAdminCredential } from "./auth/bootstrap";
import { CaDirectory } from "./auth/ca-directory";
import { FailureLimiter, SharedFailureLimiter } from "./auth/failure-limiter";
import { type Limits, localLimits } from "./auth/limits";
import type { Config } from "./config";
import { databaseOutage, outageCondition } from "./database-outage";
import { Renewer } from "./issuance/auto-renewal/renewer";
import { CrlCache } from "./issuance/ca/crl-cache";
import { openKeyring } from "./issuance/ca/keyring";
import { OcspResponder } from "./issuance/ca/ocsp";
import { CaPublisher } from "./issuance/ca/publication";
import { expiringCertificates } from "./issuance/certificates/expiring";
import { heldKeySweepIntervalMs, startHeldKeySweep } from "./issuance/certificates/held-keys";
import { blockKeysRevokedBeforeBlocking } from "./issuance/certificates/key-block-backfill";
import {
  LIST_QUERIES_QUEUED_PER_TOKEN,
  ListQueryGate,
  listQueryCounts,
} from "./issuance/common/list-gate";
import type { IssuanceDeps } from "./issuance/deps";
import { EventPump } from "./issuance/events/pump";
import { CertificateWatch, WATCH_READS_PER_TOKEN } from "./issuance/events/watch";
import { callLoggingInterceptor } from "./server/call-logging";
import { callMetricsInterceptor } from "./server/call-metrics";
import { DatabaseClockSkew } from "./server/clock-skew";
import { connectionOptions, limitConnections, type OpenSessions } from "./server/connection-limits";
import { refuseOtherContentTypes } from "./server/content-types";
import { CredentialFreeCalls } from "./server/credential-free-calls";
import { DatabaseProbe } from "./server/database-health";
import { DrainDelay } from "./server/drain";
import { fileDescriptorLimit, fitConnectionsToFdLimit } from "./server/fd-budget";
import { installFramedResponses } from "./server/framed-responses";
import { installGrpcLogger } from "./server/grpc-logger";
import { installGrpcTimeouts } from "./server/grpc-timeouts";
import { HealthReporter } from "./server/health";
import { installInflatedRequests } from "./server/inflated-requests";
import type { CertmintMetrics } from "./server/metrics";
import { startMetricsServer } from "./server/metrics-server";
import { limitOpenCalls } from "./server/open-calls";
import { certmintVersion } from "./server/paths";
import { startPublicationServer } from "./server/publication";
import { addReflection } from "./server/reflection";
import { PendingRequestBytes, requestByteLimits } from "./server/request-bytes";
import { throttledWarnings } from "./server/throttled-warnings";
import { tlsTransport } from "./server/tls";
import { installTransportStatuses } from "./server/transport-statuses";
import { answerUnknownMethods } from "./server/unknown-methods";
import {
  CsrWorkers,
  type GenerateRsa,
  inlineCsrParser,
  type KeyGenerationStats,
  KeyGenerator,
} from "./signer";
import { StartInterrupted, startUpFailureOf } from "./start-up-failure";
import { CredentialChanges } from "./store/credential-changes";
import { type Database, migrate, openDatabase, withStartupLock } from "./store/database";
import { poolUsesTls } from "./store/database-tls";
import { reserveEmbeddedDatabase } from "./store/embedded-lock";
import type { Listener } from "./store/notifications";
import { createStore, kekCheckStore } from "./store/store";

/** What a caller may substitute when starting certmint in-process (tests). */
export interface StartOptions {
  /**
   * Called once when this process cannot go on serving and must stop and be started again: the
   * embedded database stopped after a PostgreSQL PANIC (store/embedded-panic.ts). main.ts stops
   * the server then, and exits 1. Without it the server reports NOT_SERVING and answers
   * UNAVAILABLE until it is stopped.
   */
  onFatal?: (err: Error) => void;
  /** Runs one RSA key generation (default: the pool's low-priority worker threads). */
  generateRsa?: GenerateRsa;
  /** How often the expiring-certificates metric may query the database (default 60 s). */
  metricsExpiringRefreshMs?: number;
  /** How long a scrape waits for the expiring-certificates query (tests); default 2 s. */
  metricsExpiringWaitMs?: number;
  /** The clock the use cases and the renewer read (default: the system clock); tests move it. */
  now?: () => Date;
  /**
   * Set in a worker process of CERTMINT_PROCESSES > 1 (server/supervisor.ts). The gRPC port is
   * bound only once the database is ready: the supervisor hands connections to every worker
   * listening, and a worker still starting would answer them UNAVAILABLE. The metrics go to
   * the supervisor, which serves /metrics for all workers, instead of a listener here. The
   * limits on what one caller may consume or hold are kept by the supervisor for the whole
   * server (`limits`: server/shared-limits-client.ts).
   */
  worker?: { shareMetrics(metrics: CertmintMetrics): void; limits?: Limits };
  /**
   * Aborted when a stop is asked for during start-up (main.ts, at SIGTERM or SIGINT): start-up
   * ends at the next point where what is on disk is whole, throwing StartInterrupted
   * (start-up-failure.ts), before it writes new secrets or reports SERVING. An embedded
   * database being created is waited for: an initdb cut short leaves a directory no later start
   * can use (embedded-postgres.ts, refuseDamagedDatabase).
   */
  stop?: AbortSignal;
}

export interface RunningCertmint {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** The HTTP port CRLs and CA certificates are published on, when CERTMINT_PUBLICATION_LISTEN is set. */
  readonly publicationPort?: number;
  /** The ACME listener's port, when CERTMINT_ACME_LISTEN is set. */
  readonly acmePort?: number;
  /** The HTTP port of GET /metrics, when CERTMINT_METRICS_LISTEN is set. */
  readonly metricsPort?: number;
  /** Whether this start wrote a new admin token to Config.adminTokenFile (a first start). */
  readonly adminTokenCreated: boolean;
  readonly address: string;
  readonly database: Database;
  /** The RSA key-generation pool now: running, waiting, and counters since start-up. */
  keyGenerationStats(): KeyGenerationStats;
  /**
   * CSR signatures checked since start-up on the CSR threads and on the event loop; undefined
   * when there are no CSR threads (CERTMINT_CSR_WORKERS=0).
   */
  csrCheckCounts(): CsrWorkers["counts"] | undefined;
  /** Lone issuances on held rows since start-up, and those whose rows had changed. */
  heldRowCounts(): { used: number; changed: number } | undefined;
  /**
   * Credential changes received from the database's server processes (not this one's own: it applied them when it made them), by
   * kind ("unknown": the listener connected, and dropped everything cached).
   */
  credentialChangesReceived(): ReadonlyMap<string, number>;
  /** certmint handlers running now, including ones whose call grpc-js already ended. */
  callsInFlight(): number;
  /** WatchCertificates streams open on the server now (certmint_watch_streams). */
  watchStreams(): number;
  /** Answer bytes written and not yet read by their clients (certmint_unread_answer_bytes). */
  unreadAnswerBytes(): number;
  /** Calls (HTTP/2 streams) the gRPC port holds open now, before any handler (open-calls.ts). */
  openCalls(): number;
  /** Calls at work and calls waiting for their turn (certmint_calls). */
  admission(): { inProgress: number; queued: number };
  /** List queries running and waiting for a place of their token (certmint_list_queries). */
  listQueries(): { running: number; waiting: number };
  /** ACME validations connecting out and queued for a place (certmint_acme_validations). */
  acmeValidations(): { running: number; queued: number } | undefined;
  /**
   * Health NOT_SERVING; serve on for the drain delay (CERTMINT_SHUTDOWN_DRAIN_DELAY_MS,
   * server/drain.ts); then stop accepting, let in-flight calls finish within the grace period,
   * close the database.
   */
  shutdown(): Promise<void>;
  /** Ends the drain delay now (a second signal); true when one was under way. */
  skipDrainDelay(): boolean;
}

/**
 * Starts certmint: binds the gRPC port first (health answers NOT_SERVING meanwhile), opens
 * the database and applies migrations, then reports SERVING.
 */
export async function startCertmint(
  given: Config,
  logger: Logger,
  options: StartOptions = {},
): Promise<RunningCertmint> {
  // The connection caps leave room under the process's file-descriptor limit (or say they do
  // not) before any port is bound.
  const config = fitConnectionsToFdLimit(given, fileDescriptorLimit(), logger);
  const health = new HealthReporter();
  const readiness = { ready: false };
  // prom-client (88 modules with @opentelemetry/api) and the ACME server (its HTTP stack, JWS
  // and challenge validation) are loaded only when configured: a server without them does not
  // pay their memory (module code and sources stay in the heap) nor their start-up time.
  // (scripts/build-server.cjs compiles these import()s to require: see there.)
  const metrics = config.metricsListen
    ? new (await import("./server/metrics")).CertmintMetrics({
        version: certmintVersion(),
        expiringRefreshMs: options.metricsExpiringRefreshMs,
        expiringWaitMs: options.metricsExpiringWaitMs,
      })
    : undefined;
  const unreadAnswers = new UnreadAnswers(
    config.connections,
    logger,
    metrics && ((limit) => metrics.unreadAnswerRefused(limit)),
  );
  // The same framed bytes of a response sent many times (a cached CRL, a watch event) to each
  // stream, instead of grpc-js's copy per send.
  installFramedResponses();
  // grpc-js's own refusals of malformed calls as INVALID_ARGUMENT, not INTERNAL (transport-statuses.ts).
  installTransportStatuses();
  // grpc-timeout read strictly, and a deadline weeks ahead kept whole (grpc-timeouts.ts).
  installGrpcTimeouts();
  // Compressed requests inflated within the request-bytes budget (inflated-requests.ts).
  installInflatedRequests();
  // grpc-js's own lines as JSON through the logger, with no header value (grpc-logger.ts).
  installGrpcLogger(logger);
  const server = new Server({
    interceptors: [
      callLoggingInterceptor(logger),
      ...(metrics ? [callMetricsInterceptor(metrics)] : []),
      // Last, so outermost: its refusals are logged and counted like any status.
      unreadAnswers.interceptor(),
    ],
    // Requests are small (a CSR with many SANs is a few KiB; CSRs are capped at 64 KiB).
    "grpc.max_receive_message_length": config.maxMessageBytes,
    // channelz off: nothing serves it, and its bookkeeping (a tracker of closures and clock
    // reads per call) cost 1.6% of the CPU of an IssueCertificate. grpc-js 1.x keeps the
    // sessions forceShutdown destroys only in that bookkeeping: OpenSessions (limitConnections)
    // destroys them instead, or a shutdown past its grace period left open streams (watches)
    // running (test/server/shutdown.test.ts).
    "grpc.enable_channelz": 0,
    ...connectionOptions(config.connections),
  });
  const sessions = limitConnections(
    server,
    config.connections,
    logger,
    new PendingRequestBytes(requestByteLimits(config.maxMessageBytes), logger),
  );
  // Calls held open, in all and per client address, before any handler (open-calls.ts).
  // Health and reflection need no credential: a rate per client address instead.
  const credentialFree = new CredentialFreeCalls(
    logger,
    config.credentialFreeCallsPerAddressPerSecond,
  );
  // Tokens that authenticated here (the Authenticator, once the database is open): calls with
  // any other token may hold only a part of the open calls (open-calls.ts).
  const bearers: { knows?: (authorization: string) => boolean } = {};
  const openCalls = limitOpenCalls(server, config.connections.maxOpenCalls, logger, {
    credentialFree,
    knowsBearer: (authorization) => bearers.knows?.(authorization) === true,
  });
  refuseOtherContentTypes(server); // gRPC-Web and the like: HTTP 415 (content-types.ts).
  // A method the server does not have: UNIMPLEMENTED with an ErrorInfo, logged and counted.
  const unknownAnswered = answerUnknownMethods(server, (path, peer) => {
    logger.info(
      { method: path, code: "UNIMPLEMENTED", ...(peer ? { peer } : {}) },
      "call of a method this server does not have",
    );
    metrics?.unknownMethodCalled();
  });
  if (!unknownAnswered) {
    logger.warn(
      "grpc-js is not the version certmint expects: calls of unknown methods are answered by grpc-js alone, unlogged",
    );
  }
  health.addToServer(server);
  addReflection(server, credentialFree);
  // Use-case dependencies exist once the database is open; handlers reach them through this
  // holder, and `unary` refuses calls (UNAVAILABLE) until readiness.ready.
  const runtime: { deps?: IssuanceDeps; security?: AccessControl; watch?: CertificateWatch } = {};
  const issuance = () => runtime.deps!;
  const calls = new InFlightCalls();
  const sharedLimits = options.worker?.limits;
  const limits = sharedLimits ?? localLimits();
  // Per process on purpose: it shares this process's event loop, pool and memory among the
  // tokens (src/api/fair-admission.ts); each worker has its own to protect.
  const admission = new FairAdmission(
    {
      inProgress: config.connections.callsInProgress,
      queuedPerToken: config.connections.callsQueuedPerToken,
      listRowsPerSecond: config.connections.listRowsPerTokenPerSecond,
      listRowsBurst: config.connections.listRowsBurstPerToken,
    },
    metrics && (() => metrics.callsQueuedRefused()),
  );
  const handlerDeps = {
    logger,
    readiness,
    security: () => runtime.security!,
    calls,
    admission,
    unreadAnswers,
  };
  registerServices(server, handlerDeps, {
    "certmint.v1.AccessTokenService": accessTokenHandlers(handlerDeps, issuance),
    "certmint.v1.AuditService": auditHandlers(handlerDeps, issuance),
    "certmint.v1.CertificateService": certificateHandlers(
      handlerDeps,
      issuance,
      () => runtime.watch!,
    ),
    "certmint.v1.CertificateAuthorityService": certificateAuthorityHandlers(handlerDeps, issuance),
    "certmint.v1.CertificatePolicyService": certificatePolicyHandlers(handlerDeps, issuance),
    "certmint.v1.CertificateProfileService": certificateProfileHandlers(handlerDeps, issuance),
  });

  const host = config.listen.host.includes(":") ? `[${config.listen.host}]` : config.listen.host;
  const transport = tlsTransport(config, logger);
  const listen = async () => {
    const bound = await bind(server, `${host}:${config.listen.port}`, transport.credentials);
    logger.info({ address: `${host}:${bound}` }, "listening");
    return bound;
  };
  // One server per embedded database: the lock is taken before the port is bound, so a second
  // server on the same data directory is refused (exit 2, one line) before it says "listening"
  // (store/embedded-lock.ts). startEmbeddedPostgres claims it.
  const embeddedLock =
    !config.databaseUrl && !options.worker ? reserveEmbeddedDatabase(config.dataDir) : undefined;
  let port: number;
  try {
    port = options.worker ? 0 : await listen();
  } catch (err) {
    embeddedLock?.cancel();
    throw err;
  }

  const keys = new KeyGenerator({
    workers: config.keyGeneration.workers,
    queuePerCaller: config.keyGeneration.queuePerToken,
    generateRsa: options.generateRsa,
    onWaited: metrics && ((seconds, bits) => metrics.keyWaited(seconds, bits)),
    // Once per cause per 10 s, in words: every RSA call meets it while the cause lasts.
    onThreadFailed: (err) => {
      const cause = /\b(E[A-Z]+)\b/.exec(err.message)?.[1] ?? err.message;
      throttledWarnings(logger).warn(
        logger,
        `keygen-thread:${cause}`,
        { cause, condition: outageCondition(cause) },
        "could not start an RSA key-generation thread: RSA calls are answered UNAVAILABLE",
      );
    },
  });
  const csrWorkers = config.csrWorkers > 0 ? new CsrWorkers(config.csrWorkers) : undefined;
  const csrs = csrWorkers ?? inlineCsrParser;
  // PostgreSQL's clock against this server's, from each health probe (PostgreSQL only).
  const clockSkew = new DatabaseClockSkew(logger, options.now ?? (() => new Date()));
  let database: Database | undefined;
  let publication: { server: HttpServer; port: number } | undefined;
  let metricsEndpoint: { server: HttpServer; port: number } | undefined;
  let adminTokenCreated = false;
  let sweep: { stop(): Promise<void> } | undefined;
  let acme: RunningAcme | undefined;
  let renewer: Renewer | undefined;
  let pump: EventPump | undefined;
  let credentialListener: Listener | undefined;
  const credentialChangesReceived = new Map<string, number>();
  // A stop asked for during start-up: said at once, acted on where start-up can end with
  // nothing half made (stopIfAsked).
  const creatingEmbedded =
    !config.databaseUrl && !existsSync(join(config.dataDir, "pglite", "PG_VERSION"));
  let openingDatabase = false;
  const stopIfAsked = () => {
    if (options.stop?.aborted) throw new StartInterrupted();
  };
  options.stop?.addEventListener(
    "abort",
    () => {
      if (!openingDatabase) return;
      logger.info(
        creatingEmbedded
          ? "stopping: waiting for the embedded database to finish being created"
          : "stopping: waiting for the database to open",
      );
    },
    { once: true },
  );
  try {
    // Process metrics (and the counters, which count from here) from the start: a start stuck
    // in database creation or migrations is visible to Prometheus, not only as `up == 0`
    // (until stop 43 of 2026-12-06 /metrics was refused until the database was ready; an
    // outside probe). The gauges that read the database's side answer once it is open
    // (metrics.attach below).
    if (!options.worker && config.metricsListen && metrics) {
      metricsEndpoint = await startMetricsServer(
        config.metricsListen,
        metrics,
        logger,
        config.connections,
        config.metricsTokenFile,
      );
      logger.info({ port: metricsEndpoint.port }, "serving Prometheus metrics at /metrics");
    }
    // A worker's metrics go to its supervisor from here on too, before the database is opened:
    // a worker held in start-up (migrations, a replacement's start) answers the supervisor's
    // metrics questions (server/cluster-metrics.ts). Until stop 46 of 2026-12-06 it answered
    // only once it listened, and a scrape meanwhile failed with 500 after 10 s (outside probe).
    if (options.worker && metrics) options.worker.shareMetrics(metrics);
    stopIfAsked();
    openingDatabase = true;
    database = await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      poolMax: config.databasePoolSize,
      idleTimeoutMs: config.databaseIdleTimeoutMs,
      logger,
      // The embedded database cannot go on after a PANIC (store/embedded-panic.ts): nothing
      // is served from here on, and the process stops so that it is started again.
      onEmbeddedFailure: (err) => {
        logger.fatal({ err }, "the embedded database stopped: certmint stops; start it again");
        health.set("NOT_SERVING");
        options.onFatal?.(err);
      },
    });
    const opened = database;
    openingDatabase = false;
    // The database is whole (created, or opened): a stop asked for meanwhile ends here.
    stopIfAsked();
    // Replicas starting together take turns here (store/database.ts).
    const deps = await withStartupLock(opened, logger, async () => {
      const applied = await migrate(opened.orm);
      logger.info(
        {
          embedded: opened.embedded,
          dataDir: opened.embedded ? config.dataDir : undefined,
          // Whether statements reach PostgreSQL over TLS (DATABASE_URL's sslmode).
          tls: opened.embedded ? undefined : await poolUsesTls(opened.orm),
          applied,
        },
        "database ready",
      );
      // Before the first secrets (a new key-encryption key, the admin token) are written.
      stopIfAsked();
      const { keyring, created } = await openKeyring(config, kekCheckStore(opened.orm));
      if (created) {
        logger.warn(
          { file: config.kek.file },
          "generated a new key-encryption key (mode 0600): back it up",
        );
      }
      const deps: IssuanceDeps = {
        store: createStore(opened.orm, { databaseUrl: config.databaseUrl }),
        keyring,
        keys,
        csrs,
        now: options.now ?? (() => new Date()),
        publicBaseUrl: config.publicBaseUrl,
        ocspUrl: config.ocspUrl,
        observer: metrics,
        crlValiditySeconds: config.crlValiditySeconds,
        listQueryTimeoutMs: config.listQueryTimeoutMs,
        listGate:
          config.listQueriesPerToken > 0 || config.listQueries > 0
            ? new ListQueryGate(
                config.listQueriesPerToken || Number.POSITIVE_INFINITY,
                LIST_QUERIES_QUEUED_PER_TOKEN,
                config.listQueries || Number.POSITIVE_INFINITY,
              )
            : undefined,
        generatedKeyReplaySeconds: config.generatedKeyReplaySeconds,
        pendingApprovalsPerToken: config.pendingApprovalsPerToken || undefined,
      };
      adminTokenCreated = (await ensureAdminCredential(deps, config.adminTokenFile, logger))
        .created;
      await blockKeysRevokedBeforeBlocking(deps, logger);
      return deps;
    });
    // What one caller may consume (failed authentications per address, calls per token, open
    // watches per token, the ACME budgets) is limited for the whole server: with
    // CERTMINT_PROCESSES above 1 the supervisor keeps those limits, else this process does.
    // What protects this process's own event loop, memory and pool (calls in progress, fair
    // admission, list and watch reads, request and unread-answer bytes, connections, the
    // publication port's rates) stays per process.
    const { authFailureLimit: failures, rateLimit } = config;
    const authenticator = new Authenticator(
      deps.store,
      deps.now,
      sharedLimits
        ? new SharedFailureLimiter(
            // Exact: a lease would strand a part of a small budget in one worker.
            sharedLimits.addressRate("auth-failures", failures.perSecond, failures.burst, {
              exact: true,
            }),
          )
        : new FailureLimiter(failures.perSecond, failures.burst),
      new CaDirectory(deps.store.cas, transport, undefined, deps.store.certificates),
    );
    bearers.knows = (authorization) => authenticator.knowsBearer(authorization);
    const credentialChanges = new CredentialChanges(
      opened.orm,
      config.databaseUrl,
      deps.keyring.macFor("credential-changes"),
      {
        announce: backgroundFailure(
          logger,
          "a credential change was not announced to the other server processes; they apply it when their cached credentials expire (5 s)",
        ),
        listen: backgroundFailure(logger, "credential changes: database unavailable; retrying"),
      },
    );
    runtime.security = new AccessControl(
      deps.store.audit,
      authenticator,
      limits.rate("access-token-calls", rateLimit.perSecond, rateLimit.burst),
      credentialChanges,
    );
    if (config.refusalLimit.perSecond > 0) {
      deps.refusalLimit = limits.rate(
        "recorded-refusals",
        config.refusalLimit.perSecond,
        config.refusalLimit.burst,
      );
    }
    runtime.deps = deps;
    const crls = new CrlCache(deps, config.crlCacheSeconds);
    deps.crls = crls;
    const publisher = config.publicationListen ? new CaPublisher(deps.store.cas, crls) : undefined;
    const ocsp = config.publicationListen
      ? new OcspResponder(deps, {
          cacheSeconds: config.ocspCacheSeconds,
          validitySeconds: config.ocspValiditySeconds,
          delegated: config.ocspResponder === "delegated",
        })
      : undefined;
    const certificateRevoked = (certificate: {
      fingerprintSha256: string;
      caId?: string | null;
      certificateAuthority?: boolean;
    }) => {
      authenticator.forgetCertificate(certificate.fingerprintSha256);
      if (certificate.certificateAuthority) authenticator.certificateAuthorityRevoked();
      if (certificate.caId) {
        crls.forget(certificate.caId);
        ocsp?.forget(certificate.caId);
      }
    };
    deps.onCertificateRevoked = (certificate) => {
      certificateRevoked(certificate);
      credentialChanges.announce({
        kind: "certificate-revoked",
        fingerprintSha256: certificate.fingerprintSha256,
        caId: certificate.caId ?? undefined,
        certificateAuthority: certificate.certificateAuthority ?? false,
      });
    };
    // Other processes' changes, applied here as they are announced (store/credential-changes.ts).
    credentialListener = credentialChanges.subscribe(
      (change) => {
        const kind = change?.kind ?? "unknown";
        credentialChangesReceived.set(kind, (credentialChangesReceived.get(kind) ?? 0) + 1);
        metrics?.credentialChangeReceived(kind);
        if (change === undefined) authenticator.forgetAll();
        else if (change.kind === "token-revoked") authenticator.forget(change.tokenId);
        else if (change.kind === "token-created") authenticator.tokenCreated();
        else certificateRevoked(change);
      },
      () => {
        // Not signed with this database's KEK: anyone who may connect may NOTIFY (ignored).
        credentialChangesReceived.set(
          "rejected",
          (credentialChangesReceived.get("rejected") ?? 0) + 1,
        );
        metrics?.credentialChangeReceived("rejected");
        throttledWarnings(logger).warn(
          logger,
          "credential-change-rejected",
          { channel: "certmint_credentials" },
          "ignored a notification on the credential-changes channel that certmint did not sign: another database user sent it",
        );
      },
    );
    // Generated keys kept for replays are deleted once their time runs out.
    sweep = startHeldKeySweep(
      deps,
      heldKeySweepIntervalMs(config.generatedKeyReplaySeconds),
      backgroundFailure(logger, "deleting expired replay keys failed; retrying"),
    );
    // Certificate events: numbered for watchers, who are woken as they arrive.
    runtime.watch = new CertificateWatch(deps, {
      keepaliveMs: config.watch.keepaliveMs,
      streamsPerToken: config.watch.streamsPerToken,
      places: limits.places("watch-streams"),
      readsPerToken: WATCH_READS_PER_TOKEN,
      keysPerTokenPerSecond: config.watch.keysPerTokenPerSecond,
      keysBurstPerToken: config.watch.keysBurstPerToken,
    });
    pump = new EventPump(deps, runtime.watch, {
      pollMs: config.watch.pollMs,
      retentionSeconds: config.watch.retentionSeconds,
      onError: backgroundFailure(logger, "certificate events: database unavailable; retrying"),
    });
    pump.start();
    if (config.renewal.enabled) {
      renewer = new Renewer(deps, config.renewal, {
        statusCodeOf: codeOf,
        onError: (err, certificateId) =>
          backgroundFailure(logger, "automatic renewal did not complete; retrying", {
            certificateId,
          })(err),
        onOutcome: (o) => {
          metrics?.automaticRenewal(o.result);
          if (o.result === "RENEWED" || o.result === "FAILED" || o.result === "AWAITING_APPROVAL")
            logger.info(o, "automatic renewal");
        },
        onExpiredUnrenewed: (count) => metrics?.automaticRenewal("EXPIRED_BEFORE_RENEWAL", count),
      });
      renewer.start();
    }
    if (config.publicationListen && publisher && ocsp) {
      publication = await startPublicationServer(
        config.publicationListen,
        publisher,
        logger,
        config.connections,
        {
          responder: ocsp,
          onAnswer: metrics && ((status) => metrics.ocspAnswered(status)),
          signingsPerAddressPerSecond: config.ocspSigningsPerAddressPerSecond,
        },
        {
          perAddressPerSecond: config.publicationRequestsPerAddressPerSecond,
          onRefused: metrics && (() => metrics.publicationRateLimited()),
        },
      );
      logger.info(
        { port: publication.port, publicBaseUrl: config.publicBaseUrl, ocspUrl: config.ocspUrl },
        "publishing CRLs, CA certificates and OCSP over HTTP",
      );
    }
    if (config.acme) {
      const { startAcme } = await import("./acme");
      acme = await startAcme(config.acme, deps, logger, config.connections, limits);
    }
    if (config.metricsListen && metrics) {
      metrics.attach({
        keyGeneration: () => keys.stats(),
        csrChecks: () => csrWorkers?.counts,
        heldRows: () => deps.store.issuance.heldRowCounts,
        databasePool: () => opened.poolState(),
        watchStreams: () => runtime.watch?.openStreams ?? 0,
        unreadAnswerBytes: () => unreadAnswers.bytes,
        openCalls: () => openCalls.open(),
        unreadAnswerTokens: () => unreadAnswers.tokenCount,
        admission: () => ({ inProgress: admission.inProgress, queued: admission.queued }),
        listQueries: () => listQueryCounts(deps.listGate),
        acmeValidations: () => acme?.validationCounts(),
        expiring: () => expiringCertificates(deps),
        clientCrls: () => transport.clientCrls().list(),
        tlsCertificate: () => transport.servingCertificate(),
        caCertificates: () => deps.store.cas.withCertificates(),
        databaseClockSkew: () => clockSkew.skewSeconds,
      });
    }
    if (options.worker) {
      port = await listen();
    }
    // Nothing is announced as serving after a stop was asked for.
    stopIfAsked();
  } catch (err) {
    await acme?.close();
    await renewer?.stop();
    await pump?.stop();
    await credentialListener?.close();
    await sweep?.stop();
    publication?.server.close();
    metricsEndpoint?.server.close();
    await keys.close();
    await csrs.close();
    await database?.close().catch(() => undefined);
    server.forceShutdown();
    sessions.destroyAll();
    embeddedLock?.cancel();
    throw startUpFailureOf(err, config.databaseUrl);
  }
  const db = database!;
  const address = `${host}:${port}`;
  readiness.ready = true;
  health.set("SERVING");
  logger.info({ address }, "serving");

  let stopping: Promise<void> | undefined;
  const drainDelay = new DrainDelay(config.shutdownDrainDelayMs);
  // A PostgreSQL server can go away while certmint runs: health follows it. (The embedded
  // database lives in this process; its failures are reported per call.)
  const probe = config.databaseUrl
    ? new DatabaseProbe((timeoutMs) => db.ping(timeoutMs), {
        intervalMs: config.databaseProbeIntervalMs,
        logger,
        onChange: (reachable) => {
          if (!stopping) health.set(reachable ? "SERVING" : "NOT_SERVING");
        },
        onClock: (reading) => clockSkew.note(reading),
        kekId: runtime.deps?.keyring.kekId,
      })
    : undefined;
  probe?.start();
  return {
    port,
    publicationPort: publication?.port,
    acmePort: acme?.port,
    metricsPort: metricsEndpoint?.port,
    adminTokenCreated,
    address,
    database: db,
    keyGenerationStats: () => keys.stats(),
    csrCheckCounts: () => csrWorkers?.counts,
    credentialChangesReceived: () => credentialChangesReceived,
    heldRowCounts: () => {
      const counts = runtime.deps?.store.issuance.heldRowCounts;
      return counts && { ...counts };
    },
    callsInFlight: () => calls.count,
    watchStreams: () => runtime.watch?.openStreams ?? 0,
    unreadAnswerBytes: () => unreadAnswers.bytes,
    openCalls: () => openCalls.open(),
    admission: () => ({ inProgress: admission.inProgress, queued: admission.queued }),
    listQueries: () => listQueryCounts(runtime.deps?.listGate),
    acmeValidations: () => acme?.validationCounts(),
    skipDrainDelay: () => drainDelay.skip(),
    shutdown() {
      stopping ??= (async () => {
        probe?.stop();
        health.set("NOT_SERVING");
        // Routers learn of NOT_SERVING late and send new connections meanwhile: they are
        // accepted and served until the delay is over (server/drain.ts).
        if (drainDelay.ms > 0) {
          logger.info(
            { drainDelayMs: drainDelay.ms },
            "health NOT_SERVING; accepting and serving calls for the drain delay",
          );
          const ended = await drainDelay.wait();
          logger.info({ ended }, "drain delay over: no longer accepting connections");
        }
        // Watches never end by themselves: they end now (UNAVAILABLE), so clients reconnect
        // elsewhere and the drain below waits only for unary calls. Health watches too, once
        // they have been sent NOT_SERVING.
        health.endWatches();
        runtime.watch?.stop();
        await drain(server, sessions, config.shutdownGraceMs, logger, calls);
        await new Promise((resolve) =>
          publication ? publication.server.close(resolve) : resolve(0),
        );
        await acme?.close();
        await new Promise((resolve) =>
          metricsEndpoint ? metricsEndpoint.server.close(resolve) : resolve(0),
        );
        readiness.ready = false;
        await renewer?.stop();
        await pump?.stop();
        await credentialListener?.close();
        await sweep?.stop();
        await keys.close();
        await csrs.close();
        await db.close();
        logger.info("stopped");
      })();
      return stopping;
    },
  };
}

/** Binds with TLS or plaintext as configured (server/tls.ts). */
function bind(server: Server, address: string, credentials: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (err, port) => {
      if (err) reject(new Error(`cannot listen on ${address}: ${err.message}`));
      else resolve(port);
    });
  });
}

/**
 * tryShutdown waits for in-flight calls; past the grace period they are answered UNAVAILABLE
 * (InFlightCalls), then the connections are closed.
 */
function drain(
  server: Server,
  sessions: OpenSessions,
  graceMs: number,
  logger: Logger,
  calls: InFlightCalls,
): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      const answered = calls.answerAllUnavailable();
      logger.warn(
        { graceMs, answered },
        "grace period over: calls still in flight answered UNAVAILABLE",
      );
      // The answers are written before the sessions are destroyed.
      setImmediate(() => {
        server.forceShutdown();
        sessions.destroyAll();
        resolve();
      });
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * The warning of a background task's failed round (the event pump and its LISTEN, the replay-key
 * sweep, automatic renewal): during a database outage by its cause alone, once per cause per
 * 10 s (server/throttled-warnings.ts; every round retries, and each logged a stack trace per
 * retry for as long as the outage lasted), anything else with its error.
 */
function backgroundFailure(logger: Logger, message: string, fields: Record<string, unknown> = {}) {
  return (err: unknown): void => {
    const outage = databaseOutage(err);
    if (outage) {
      throttledWarnings(logger).warn(
        logger,
        `${message}:${outage}`,
        { ...fields, cause: outage },
        message,
      );
      return;
    }
    logger.warn({ ...fields, err }, message);
  };
}
