import { X509Certificate } from "node:crypto";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { UnreadAnswerLimit } from "../api/unread-answers";
import type { ExpiringCount } from "../issuance/certificates/expiring";
import type { IssuanceObserver } from "../issuance/observer";
import type { KeyGenerationStats } from "../signer";

/** What the metrics read when scraped, once the database is open. */
export interface MetricsSources {
  keyGeneration(): KeyGenerationStats;
  /** CSR signatures checked on the CSR threads and on the event loop; none without threads. */
  csrChecks(): { onThreads: number; inline: number } | undefined;
  /** Lone issuances on held rows, and those whose rows had changed (IssuanceRepository). */
  heldRows(): { used: number; changed: number } | undefined;
  /** WatchCertificates streams open now. */
  watchStreams(): number;
  /** Answer bytes written and not yet read by their clients (src/api/unread-answers.ts). */
  unreadAnswerBytes(): number;
  /** Calls (HTTP/2 streams) the gRPC port holds open now (src/server/open-calls.ts). */
  openCalls(): number;
  /** Access tokens holding answer bytes their clients have not read (the fair share divides by it). */
  unreadAnswerTokens(): number;
  /** Calls at work and calls waiting for their turn (src/api/fair-admission.ts). */
  admission(): { inProgress: number; queued: number };
  /** ACME validations connecting out and queued for a place (acme/validation/slots.ts); none without ACME. */
  acmeValidations?(): { running: number; queued: number } | undefined;
  /** List queries running and waiting for one of their token's places (issuance/common/list-gate.ts). */
  listQueries(): { running: number; waiting: number };
  /** PostgreSQL's clock minus this server's, seconds (server/clock-skew.ts); none embedded. */
  databaseClockSkew(): number | undefined;
  /** The database pool now; undefined when it cannot be read. */
  databasePool(): { used: number; free: number; pending: number } | undefined;
  /** The CRLs of CERTMINT_TLS_CLIENT_CRL_FILE in force: each CA's subject and nextUpdate. */
  clientCrls(): Array<{ issuer: string; nextUpdate?: Date }>;
  /** Certificates expiring within 7 and 30 days per profile (one query; cached, see below). */
  expiring(): Promise<ExpiringCount[]>;
  /**
   * The certificate the gRPC port serves now (server/tls.ts: the one loaded at start-up or by
   * the last reload); undefined without TLS.
   */
  tlsCertificate?(): { readonly validTo: string } | undefined;
  /** Every CA's certificate in the database (CaRepository.withCertificates: a few rows). */
  caCertificates?(): Promise<
    ReadonlyArray<{ id: string; certificatePem: string | null; revokedAt: Date | null }>
  >;
}

export interface MetricsOptions {
  /** The expiring-certificates query runs at most this often (on a scrape); default 60 s. */
  expiringRefreshMs?: number;
  /**
   * How long a scrape waits for that query before it answers with the counts it has (the last
   * ones, or none yet); default 2 s. The query goes on and its counts serve the next scrape.
   */
  expiringWaitMs?: number;
  version: string;
}

/** Latency buckets of RPCs: from a cached read (sub-millisecond) to an RSA key (seconds). */
const RPC_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * certmint's Prometheus metrics (names per the Prometheus conventions: `certmint_` prefix,
 * `_total` counters, `_seconds` durations), in a registry of their own per server (tests run
 * several in one process). With CERTMINT_PROCESSES > 1 the supervisor sums the workers'
 * registries (server/cluster-metrics.ts): counters, histograms and gauges of amounts add up;
 * gauges that every worker reads alike say so with their `aggregator`. The issuance observer port (src/issuance/observer.ts) feeds the
 * counters; gauges read their sources when scraped. Labels take profile and CA slugs, which
 * operators create: their number is the number of profiles and CAs, not of requests.
 */
export class CertmintMetrics implements IssuanceObserver {
  readonly registry = new Registry();
  private sources?: MetricsSources;
  private readonly crls = new Map<string, CrlSeen>();
  private expiringCache?: { at: number; counts: ExpiringCount[] };
  /** The expiring-certificates query running now, if any: one at a time, whoever scrapes. */
  private expiringQuery?: Promise<ExpiringCount[] | undefined>;
  /** Each CA's notAfter, read at most every expiringRefreshMs (caNotAfters). */
  private caCache?: { at: number; notAfters: CaNotAfter[] };
  private caQuery?: Promise<CaNotAfter[] | undefined>;

  private readonly rpcs: Counter<"service" | "method" | "code">;
  private readonly rpcSeconds: Histogram<"service" | "method" | "code">;
  private readonly issued: Counter<"operation" | "profile" | "ca" | "key_algorithm">;
  private readonly refusals: Counter<"reason">;
  private readonly keyWait: Histogram<"bits">;
  private readonly ocsp: Counter<"status">;
  private readonly publicationRateRefusals: Counter;
  private readonly credentialChanges: Counter;
  private readonly unreadRefusals: Counter<"limit">;
  private readonly queuedRefusals: Counter;
  private readonly renewals: Counter<"result">;

  constructor(private readonly options: MetricsOptions) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: "certmint_build_info",
      help: "Always 1; the labels say which certmint and Node.js run",
      labelNames: ["version", "node_version"],
      registers,
      aggregator: "first",
    }).set({ version: options.version, node_version: process.version }, 1);
    this.rpcs = new Counter({
      name: "certmint_grpc_requests_total",
      help: "gRPC calls handled, by service, method and status code",
      labelNames: ["service", "method", "code"],
      registers,
    });
    this.rpcSeconds = new Histogram({
      name: "certmint_grpc_request_duration_seconds",
      help: "Time from a gRPC call's start to its status, by service, method and status code",
      labelNames: ["service", "method", "code"],
      buckets: RPC_BUCKETS,
      registers,
    });
    this.issued = new Counter({
      name: "certmint_certificates_issued_total",
      help: "Certificates signed, by operation (issue, renew), profile, issuing CA and key algorithm",
      labelNames: ["operation", "profile", "ca", "key_algorithm"],
      registers,
    });
    this.renewals = new Counter({
      name: "certmint_automatic_renewals_total",
      help: "Server-driven renewal attempts by result (RENEWED, FAILED, AWAITING_APPROVAL, SETTLED: nothing left to do, LEFT: tried again later), and certificates that expired before a renewal (EXPIRED_BEFORE_RENEWAL)",
      labelNames: ["result"],
      registers,
    });
    this.refusals = new Counter({
      name: "certmint_policy_refusals_total",
      help: "Requests refused on their merits (recorded FAILED), once per distinct violation reason",
      labelNames: ["reason"],
      registers,
    });
    this.keyWait = new Histogram({
      name: "certmint_key_generation_wait_seconds",
      help: "How long an RSA key waited for a key-generation thread, by key size",
      labelNames: ["bits"],
      buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.ocsp = new Counter({
      name: "certmint_ocsp_responses_total",
      help: "OCSP responses sent, by certificate status (good, revoked, unknown) or error status",
      labelNames: ["status"],
      registers,
    });
    this.publicationRateRefusals = new Counter({
      name: "certmint_publication_rate_limited_total",
      help: "Publication-port requests answered 429 because their client address was past CERTMINT_PUBLICATION_REQUESTS_PER_ADDRESS_PER_SECOND",
      registers,
    });
    this.credentialChanges = new Counter({
      name: "certmint_credential_changes_received_total",
      help: "Credential changes (a token revoked or created, a certificate revoked) announced by any server process on the database and applied to this process's caches; kind unknown: the listener reconnected and dropped everything cached",
      labelNames: ["kind"],
      registers,
    });
    this.unreadRefusals = new Counter({
      name: "certmint_unread_answers_refused_total",
      help: "Answers refused (RESOURCE_EXHAUSTED) because clients left too many unread, by the limit reached: connection, token, server (the process's ceiling), share (the token's fair share, the process under pressure)",
      labelNames: ["limit"],
      registers,
    });
    this.queuedRefusals = new Counter({
      name: "certmint_calls_queued_refused_total",
      help: "Calls refused (RESOURCE_EXHAUSTED, CALLS_QUEUED) because their access token already had CERTMINT_CALLS_QUEUED_PER_TOKEN calls waiting for their turn",
      registers,
    });
    const metrics = this;
    new Gauge({
      name: "certmint_calls",
      help: "Calls past authentication doing their work (in_progress, at most CERTMINT_CALLS_IN_PROGRESS) and waiting for their turn (queued)",
      labelNames: ["state"],
      registers,
      collect() {
        const now = metrics.sources?.admission();
        if (!now) return;
        this.set({ state: "in_progress" }, now.inProgress);
        this.set({ state: "queued" }, now.queued);
      },
    });
    new Gauge({
      name: "certmint_list_queries",
      help: "ListCertificates and ListAuditRecords queries running (at most CERTMINT_LIST_QUERIES_PER_TOKEN per access token, CERTMINT_LIST_QUERIES in all) and waiting for one of their token's or the process's places",
      labelNames: ["state"],
      registers,
      collect() {
        const now = metrics.sources?.listQueries();
        if (!now) return;
        this.set({ state: "running" }, now.running);
        this.set({ state: "waiting" }, now.waiting);
      },
    });
    new Gauge({
      name: "certmint_acme_validations",
      help: "ACME challenge validations connecting out (running, at most CERTMINT_ACME_MAX_VALIDATIONS per process) and waiting for a place (queued)",
      labelNames: ["state"],
      registers,
      collect() {
        const now = metrics.sources?.acmeValidations?.();
        if (!now) return;
        this.set({ state: "running" }, now.running);
        this.set({ state: "queued" }, now.queued);
      },
    });
    new Gauge({
      name: "certmint_key_generation_queue_depth",
      help: "RSA keys waiting for a key-generation thread",
      registers,
      collect() {
        const stats = metrics.sources?.keyGeneration();
        if (stats) this.set(stats.waiting);
      },
    });
    new Gauge({
      name: "certmint_key_generation_running",
      help: "RSA keys being generated now",
      registers,
      collect() {
        const stats = metrics.sources?.keyGeneration();
        if (stats) this.set(stats.running);
      },
    });
    new Counter({
      name: "certmint_csr_signature_checks_total",
      help: "Request CSRs whose key was imported and signature checked, by thread: csr_worker (CERTMINT_CSR_WORKERS) or event_loop (no thread, or the threads were behind)",
      labelNames: ["thread"],
      registers,
      collect() {
        const counts = metrics.sources?.csrChecks();
        if (!counts) return;
        this.reset();
        this.inc({ thread: "csr_worker" }, counts.onThreads);
        this.inc({ thread: "event_loop" }, counts.inline);
      },
    });
    new Counter({
      name: "certmint_issuance_held_rows_total",
      help: "Lone IssueCertificate calls decided on the profile, policy and CA rows held from the last read instead of reading them (used), and those stored nothing because one of the rows had changed meanwhile, and were decided again on rows read then (changed)",
      labelNames: ["outcome"],
      registers,
      collect() {
        const counts = metrics.sources?.heldRows();
        if (!counts) return;
        this.reset();
        this.inc({ outcome: "used" }, counts.used);
        this.inc({ outcome: "changed" }, counts.changed);
      },
    });
    new Gauge({
      name: "certmint_database_pool_connections",
      help: "Database pool connections by state: in_use, idle; waiting counts callers queued for one",
      labelNames: ["state"],
      registers,
      collect() {
        const pool = metrics.sources?.databasePool();
        if (!pool) return;
        this.set({ state: "in_use" }, pool.used);
        this.set({ state: "idle" }, pool.free);
        this.set({ state: "waiting" }, pool.pending);
      },
    });
    new Gauge({
      name: "certmint_database_clock_skew_seconds",
      help: "PostgreSQL's clock minus this server's, as the last health probe read it (positive: this server is behind); certificates are dated by this server's clock",
      registers,
      aggregator: "first",
      collect() {
        const skew = metrics.sources?.databaseClockSkew();
        if (skew !== undefined) this.set(skew);
      },
    });
    new Gauge({
      name: "certmint_watch_streams",
      help: "WatchCertificates streams open (a stream ends when its client cancels or leaves)",
      registers,
      collect() {
        const open = metrics.sources?.watchStreams();
        if (open !== undefined) this.set(open);
      },
    });
    new Gauge({
      name: "certmint_open_calls",
      help: "Calls the gRPC port holds open now, from their headers to their end, authenticated or not (CERTMINT_MAX_OPEN_CALLS; src/server/open-calls.ts)",
      registers,
      collect() {
        const open = metrics.sources?.openCalls();
        if (open !== undefined) this.set(open);
      },
    });
    new Gauge({
      name: "certmint_unread_answer_bytes",
      help: "Answer bytes written and not yet taken by their clients (HTTP/2 flow control)",
      registers,
      collect() {
        const bytes = metrics.sources?.unreadAnswerBytes();
        if (bytes !== undefined) this.set(bytes);
      },
    });
    new Gauge({
      name: "certmint_unread_answer_tokens",
      help: "Access tokens holding answer bytes not yet taken by their clients; under pressure each may hold an even share of the room left (src/api/unread-answers.ts)",
      registers,
      collect() {
        const tokens = metrics.sources?.unreadAnswerTokens();
        if (tokens !== undefined) this.set(tokens);
      },
    });
    const crlGauge = (
      name: string,
      help: string,
      aggregator: "min" | "max",
      value: (c: CrlSeen, now: number) => number,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: ["ca"],
        registers,
        aggregator,
        collect() {
          this.reset();
          const now = Date.now();
          for (const c of metrics.crls.values()) this.set({ ca: c.ca }, value(c, now));
        },
      });
    crlGauge(
      "certmint_crl_age_seconds",
      "Seconds since the thisUpdate of the CA's latest CRL signed by this process",
      "min",
      (c, now) => (now - c.thisUpdate.getTime()) / 1000,
    );
    crlGauge(
      "certmint_crl_next_update_timestamp_seconds",
      "nextUpdate of the CA's latest CRL signed by this process (Unix time)",
      "max",
      (c) => c.nextUpdate.getTime() / 1000,
    );
    crlGauge(
      "certmint_crl_entries",
      "Revoked certificates listed in the CA's latest CRL",
      "max",
      (c) => c.entries,
    );
    crlGauge("certmint_crl_bytes", "DER size of the CA's latest CRL", "max", (c) => c.bytes);
    new Gauge({
      name: "certmint_tls_client_crl_next_update_timestamp_seconds",
      help: "nextUpdate of each client CA's CRL in CERTMINT_TLS_CLIENT_CRL_FILE (Unix time; 0: none). Past it, every client certificate of that CA is refused",
      labelNames: ["issuer"],
      registers,
      // Every worker process reads the same file.
      aggregator: "min",
      collect() {
        this.reset();
        for (const crl of metrics.sources?.clientCrls() ?? []) {
          this.set({ issuer: crl.issuer }, (crl.nextUpdate?.getTime() ?? 0) / 1000);
        }
      },
    });
    new Gauge({
      name: "certmint_tls_certificate_not_after_seconds",
      help: "notAfter of the TLS certificate the listener serves now (Unix time), as loaded at start-up or by the last reload of its files",
      labelNames: ["listener"],
      registers,
      // Every worker process serves the same files; the earliest, while one has not reloaded yet.
      aggregator: "min",
      collect() {
        this.reset();
        const served = metrics.sources?.tlsCertificate?.();
        if (served) this.set({ listener: "grpc" }, Date.parse(served.validTo) / 1000);
      },
    });
    new Gauge({
      name: "certmint_ca_not_after_seconds",
      help: "notAfter of each CA's certificate (Unix time), by CA id; what it signs ends by then. Revoked CAs and CAs without a certificate yet are left out",
      // The CA's id: made by certmint, one per CA, never a caller's text.
      labelNames: ["ca_id"],
      registers,
      // Every worker process reads the same rows.
      aggregator: "min",
      async collect() {
        const notAfters = await metrics.caNotAfters();
        if (!notAfters) return;
        this.reset();
        for (const c of notAfters) this.set({ ca_id: c.id }, c.notAfter / 1000);
      },
    });
    new Gauge({
      name: "certmint_certificates_expiring",
      help: "Certificates in use (not revoked, not renewed) expiring within 7d or 30d, by profile",
      labelNames: ["profile", "within"],
      registers,
      // Every worker process counts the same rows.
      aggregator: "first",
      async collect() {
        const counts = await metrics.expiringCounts();
        if (!counts) return;
        this.reset();
        for (const c of counts) {
          this.set({ profile: c.profile, within: "7d" }, c.within7Days);
          this.set({ profile: c.profile, within: "30d" }, c.within30Days);
        }
      },
    });
  }

  /** The sources become readable once the database is open (src/app.ts). */
  attach(sources: MetricsSources): void {
    this.sources = sources;
  }

  /** One gRPC call ended (server/call-metrics.ts). */
  callEnded(path: string, code: string, seconds: number): void {
    const [service = "", method = ""] = path.replace(/^\//, "").split("/");
    const labels = { service, method, code };
    this.rpcs.inc(labels);
    this.rpcSeconds.observe(labels, seconds);
  }

  /**
   * A call of a method the server does not have (unknown-methods.ts): counted under service and
   * method "unknown", never under the caller's text (one series per name it made up).
   */
  unknownMethodCalled(): void {
    this.rpcs.inc({ service: "unknown", method: "unknown", code: "UNIMPLEMENTED" });
  }

  keyWaited(seconds: number, bits: number): void {
    this.keyWait.observe({ bits: String(bits) }, seconds);
  }

  unreadAnswerRefused(limit: UnreadAnswerLimit): void {
    this.unreadRefusals.inc({ limit });
  }

  callsQueuedRefused(): void {
    this.queuedRefusals.inc();
  }

  /**
   * A server-driven renewal's result, or certificates that expired unrenewed: what an alert on
   * failing renewals reads (until stop 49 of 2026-12-06 only per certificate, and the expiry
   * gauge's 7- and 30-day windows say nothing of certificates that live hours: an outside probe).
   */
  automaticRenewal(result: string, count = 1): void {
    if (count > 0) this.renewals.inc({ result }, count);
  }

  ocspAnswered(status: string): void {
    this.ocsp.inc({ status });
  }

  credentialChangeReceived(kind: string): void {
    this.credentialChanges.inc({ kind });
  }

  publicationRateLimited(): void {
    this.publicationRateRefusals.inc();
  }

  certificateIssued(e: Parameters<IssuanceObserver["certificateIssued"]>[0]): void {
    this.issued.inc({
      operation: e.operation,
      profile: e.profile,
      ca: e.ca,
      key_algorithm: e.keyAlgorithm,
    });
  }

  requestRefused(reasons: string[]): void {
    for (const reason of reasons) this.refusals.inc({ reason });
  }

  crlSigned(e: Parameters<IssuanceObserver["crlSigned"]>[0]): void {
    this.crls.set(e.caId, e);
  }

  /** The exposition text (Prometheus text format 0.0.4). */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /**
   * Each CA certificate's notAfter: as the expiring counts below, the last ones while fresh
   * (expiringRefreshMs), else a new read's if it answers within expiringWaitMs, else the last
   * ones; one read at a time.
   */
  private async caNotAfters(): Promise<CaNotAfter[] | undefined> {
    const read = this.sources?.caCertificates;
    if (!read) return undefined;
    const refreshMs = this.options.expiringRefreshMs ?? 60_000;
    const cached = this.caCache;
    if (cached && performance.now() - cached.at < refreshMs) return cached.notAfters;
    this.caQuery ??= read()
      .then(
        (cas) => {
          const notAfters = cas.flatMap((ca) => {
            if (ca.revokedAt || !ca.certificatePem) return [];
            try {
              const notAfter = Date.parse(new X509Certificate(ca.certificatePem).validTo);
              return Number.isNaN(notAfter) ? [] : [{ id: ca.id, notAfter }];
            } catch {
              return [];
            }
          });
          this.caCache = { at: performance.now(), notAfters };
          return notAfters;
        },
        () => undefined,
      )
      .finally(() => {
        this.caQuery = undefined;
      });
    const waitMs = this.options.expiringWaitMs ?? 2_000;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), waitMs);
    });
    try {
      return (await Promise.race([this.caQuery, late])) ?? this.caCache?.notAfters;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The last counts while they are fresh; else a new query's, if it answers within
   * expiringWaitMs; else the last counts (none before the first answer). A failed query keeps
   * the previous ones. The query reads the certificate table: when that waits (a lock, a slow
   * database), a scrape used to wait with it, past Prometheus' scrape timeout, taking every
   * other metric with it, and each scrape started another query on another pooled connection.
   * Now one query runs at a time and a scrape waits for it at most expiringWaitMs.
   */
  private async expiringCounts(): Promise<ExpiringCount[] | undefined> {
    const sources = this.sources;
    if (!sources) return undefined;
    const refreshMs = this.options.expiringRefreshMs ?? 60_000;
    const cached = this.expiringCache;
    if (cached && performance.now() - cached.at < refreshMs) return cached.counts;
    this.expiringQuery ??= sources
      .expiring()
      .then(
        (counts) => {
          this.expiringCache = { at: performance.now(), counts };
          return counts;
        },
        () => undefined,
      )
      .finally(() => {
        this.expiringQuery = undefined;
      });
    const waitMs = this.options.expiringWaitMs ?? 2_000;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), waitMs);
    });
    try {
      return (await Promise.race([this.expiringQuery, late])) ?? this.expiringCache?.counts;
    } finally {
      clearTimeout(timer);
    }
  }
}

type CrlSeen = Parameters<IssuanceObserver["crlSigned"]>[0];
/** A CA's id and its certificate's notAfter (milliseconds since 1970). */
type CaNotAfter = { id: string; notAfter: number };
