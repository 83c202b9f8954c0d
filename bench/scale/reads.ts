/**
 * The reads of issue 14's flat-cost goal, over gRPC with the admin token, one call at a time
 * (latency, not throughput), with inputs sampled from the database before the clock starts:
 * ListCertificates with an expiry bound, GetCertificate by serial, name contains, status
 * REVOKED, deep pages, and last GetCertificateRevocationList (with GetCertificate calls running
 * beside it).
 */
import type { ChannelCredentials, ChannelOptions } from "@grpc/grpc-js";
import type { Client } from "pg";
import {
  CertificateAuthorityServiceClient,
  CrlEncoding,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificateServiceClient,
  CertificateStatus,
  CertificateView,
  ListCertificatesRequest,
  ListCertificatesResponse,
} from "../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { bearer, call } from "../common/certmint";
import { memoryMiB } from "../common/proc";
import { startBesideLoop } from "./beside-loop";

export interface Latency {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export interface CrlFigures {
  /**
   * The first GetCertificateRevocationList call after a revocation: the CRL is read and signed
   * (the cache was emptied by the revocation), ms, with nothing else running.
   */
  buildAlone: number;
  /** The same after a second revocation, with GetCertificate calls running beside it, ms. */
  build: number;
  /** The calls after it, served from the cache both endpoints share, ms. */
  calls: Latency;
  /** The same calls asking for the DER alone (encoding CRL_ENCODING_DER), ms. */
  derOnly: Latency;
  /**
   * A poller that holds the current CRL (known_crl_number): the answer is its number, without
   * the CRL, ms.
   */
  unchanged: Latency;
  revokedEntries: number;
  derBytes: number;
  /** GetCertificate calls made while the CRL calls ran. */
  concurrentGet: Latency;
  /** Server memory right after the CRL calls, MiB. */
  rssAfter: number;
  rssPeak: number;
}

export interface ReadFigures {
  listExpiry: Latency;
  /** The same pages in the BASIC view (no PEMs). */
  listExpiryBasic: Latency;
  /** Bytes of one such page's answer (protobuf), FULL and BASIC. */
  pageBytes: { full: number; basic: number };
  getBySerial: Latency;
  crl: CrlFigures;
  nameContains: Latency;
  statusRevoked: Latency;
  /** p50 of a page of 50 at page 500, 1000 and 5000; undefined where the table is too short. */
  deepPages: Map<number, Latency | undefined>;
  /** Seconds spent walking to the deep pages (1000 certificates per call). */
  deepWalkSeconds: number;
}

export const PAGE_SIZE = 50;
/**
 * Calls per timed read (fewer if READ_SECONDS runs out first): its p99 is then the second
 * slowest of 200, not the slowest of 30 (the maximum, one GC pause or one cold page).
 */
const READ_CALLS = 200;
const READ_SECONDS = 15;
export const DEEP_PAGES = [500, 1000, 5000];
/**
 * The expiry bound selects this fraction of the certificates, the oldest ones, and at least a
 * full page and one (so every stage's calls return PAGE_SIZE rows and a next-page token: with
 * 6,571 stored, 0.5% is 33 rows, a smaller answer than the later stages' and half their time).
 */
export const EXPIRY_FRACTION = 0.005;

function summarize(ms: number[]): Latency {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ??
    Number.NaN;
  return { n: sorted.length, p50: at(50), p99: at(99), max: at(100) };
}

/** Calls `fn(i)` one at a time: `max` calls, or fewer when `budgetSeconds` runs out (at least 3). */
async function timeCalls(
  max: number,
  budgetSeconds: number,
  fn: (i: number) => Promise<unknown>,
): Promise<Latency> {
  const ms: number[] = [];
  const until = performance.now() + budgetSeconds * 1000;
  for (let i = 0; i < max && (i < 3 || performance.now() < until); i++) {
    const t0 = performance.now();
    await fn(i);
    ms.push(performance.now() - t0);
  }
  return summarize(ms);
}

export interface ReadTarget {
  address: string;
  credentials: ChannelCredentials;
  channelOptions: ChannelOptions;
  adminToken: string;
  serverPid: number;
  caId: string;
  db: Client;
}

export async function measureReads(t: ReadTarget): Promise<ReadFigures> {
  const options = {
    ...t.channelOptions,
    // A page of 1,000 certificates with their chains, and a CRL of 10^5 entries, exceed
    // gRPC's default 4 MiB.
    "grpc.max_receive_message_length": 512 * 1024 * 1024,
    // grpc-js receives with HTTP/2's default 64 KiB window unless told otherwise (Go's client
    // grows its window with the bandwidth-delay product): a 12 MB CRL answer then takes ~180
    // window updates, which made a cached CRL call 100-300 ms of the client's time, not the
    // server's. A client that fetches large CRLs sets this; so does the benchmark.
    "grpc-node.flow_control_window": 16 * 1024 * 1024,
    interceptors: [bearer(t.adminToken)],
  };
  const certs = new CertificateServiceClient(t.address, t.credentials, options);
  const beside = new CertificateServiceClient(t.address, t.credentials, {
    ...options,
    "grpc.use_local_subchannel_pool": 1, // its own connection
  });
  const authorities = new CertificateAuthorityServiceClient(t.address, t.credentials, options);
  try {
    const total = Number(
      (await t.db.query<{ n: string }>("select count(*) as n from certificate")).rows[0]?.n,
    );
    // ~2,000 random rows, read by sampling pages (a sort of 10^6 rows would take seconds).
    const percent = Math.min(100, (100 * 2000) / Math.max(1, total));
    const sample = (
      await t.db.query<{ serial_number: string; common_name: string }>(
        `select serial_number, common_name from certificate tablesample system (${percent}) limit 200`,
      )
    ).rows.sort(() => Math.random() - 0.5);
    if (sample.length === 0) throw new Error("no certificate to read");
    // One second past that row's notAfter: notAfter has whole seconds (X.509 times), and the
    // certificates issued in one second share it, so `< its own notAfter` could match none of
    // them. At the first stage, where hundreds were issued per second, it matched fewer than a
    // page, or none (2026-12-03: an empty page, where the later stages listed 50).
    const bound = new Date(
      (
        await t.db.query<{ b: Date }>(
          "select not_after as b from certificate order by not_after offset $1 limit 1",
          [Math.max(PAGE_SIZE + 1, Math.floor(total * EXPIRY_FRACTION))],
        )
      ).rows[0]!.b.getTime() + 1000,
    );
    const matched = Number(
      (
        await t.db.query<{ n: string }>(
          "select count(*) as n from certificate where not_after < $1",
          [bound],
        )
      ).rows[0]!.n,
    );
    if (matched <= PAGE_SIZE) throw new Error(`the expiry bound matches ${matched} certificates`);
    const list = (req: Partial<ListCertificatesRequest>) =>
      call(
        certs,
        "listCertificates",
        ListCertificatesRequest.fromPartial({ pageSize: PAGE_SIZE, ...req }),
      );

    const listExpiry = await timeCalls(READ_CALLS, READ_SECONDS, () =>
      list({ expiresBefore: bound }),
    );
    const listExpiryBasic = await timeCalls(READ_CALLS, READ_SECONDS, () =>
      list({ expiresBefore: bound, view: CertificateView.CERTIFICATE_VIEW_BASIC }),
    );
    const bytesOf = async (view: CertificateView) =>
      ListCertificatesResponse.encode(await list({ expiresBefore: bound, view })).finish().length;
    const pageBytes = {
      full: await bytesOf(CertificateView.CERTIFICATE_VIEW_FULL),
      basic: await bytesOf(CertificateView.CERTIFICATE_VIEW_BASIC),
    };
    const getBySerial = await timeCalls(READ_CALLS, READ_SECONDS, (i) =>
      call(certs, "getCertificate", { certificate: sample[i % sample.length]!.serial_number }),
    );
    const nameContains = await timeCalls(READ_CALLS, READ_SECONDS, (i) =>
      list({ nameContains: sample[i % sample.length]!.common_name }),
    );
    const statusRevoked = await timeCalls(READ_CALLS, READ_SECONDS, () =>
      list({ status: CertificateStatus.CERTIFICATE_STATUS_REVOKED }),
    );
    const walkStarted = performance.now();
    const deepPages = await measureDeepPages(certs, total);
    const deepWalkSeconds = (performance.now() - walkStarted) / 1000;
    // Last: its 5-12 MB answers leave the server (and this client) garbage to collect, which
    // landed on whatever read was timed next (2026-12-03: the slowest name-contains call at
    // 10^6 took 119 ms, right after the CRL calls, where its median was 6.4).
    const crl = await measureCrl(
      t,
      authorities,
      beside,
      sample.map((s) => s.serial_number),
    );
    return {
      listExpiry,
      listExpiryBasic,
      pageBytes,
      getBySerial,
      crl,
      nameContains,
      statusRevoked,
      deepPages,
      deepWalkSeconds,
    };
  } finally {
    certs.close();
    beside.close();
    authorities.close();
  }
}

/**
 * A revocation (which makes the next CRL call sign a fresh one) and one CRL call alone; then
 * another revocation and four CRL calls in a row: the first builds, the others are served from
 * the cache; meanwhile GetCertificate calls one after another on another connection, from a
 * thread of their own (beside-loop.ts).
 */
async function measureCrl(
  t: ReadTarget,
  authorities: CertificateAuthorityServiceClient,
  beside: CertificateServiceClient,
  serials: string[],
): Promise<CrlFigures> {
  const unrevoked = (
    await t.db.query<{ id: string }>(
      "select id from certificate where ca_id = $1 and revoked_at is null limit 2",
      [t.caId],
    )
  ).rows;
  const revokeOne = async () => {
    const next = unrevoked.shift();
    if (next) {
      await call(beside, "revokeCertificate", {
        certificate: next.id,
        reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
      });
    }
  };
  let revokedEntries = 0;
  let derBytes = 0;
  let crlNumber = "";
  const fetchCrl = async (encoding = CrlEncoding.CRL_ENCODING_UNSPECIFIED) => {
    const res = await call(authorities, "getCertificateRevocationList", {
      certificateAuthority: t.caId,
      encoding,
      knownCrlNumber: "",
    });
    derBytes = res.crlDer.length;
    revokedEntries = countRevoked(res.crlDer);
    crlNumber = res.crlNumber;
  };
  const fetchIfChanged = async () => {
    const res = await call(authorities, "getCertificateRevocationList", {
      certificateAuthority: t.caId,
      encoding: CrlEncoding.CRL_ENCODING_DER,
      knownCrlNumber: crlNumber,
    });
    // The cache period may end between two polls: then this poll downloads the new CRL, as a
    // real poller's would, and the next ones hold it.
    if (!res.unchanged) crlNumber = res.crlNumber;
  };
  await revokeOne();
  const alone = performance.now();
  await fetchCrl();
  const buildAlone = performance.now() - alone;
  await revokeOne();
  const besideLoop = await startBesideLoop({
    address: t.address,
    adminToken: t.adminToken,
    serials,
  });
  let besideMs: number[] = [];
  let calls: Latency;
  let derOnly: Latency;
  let unchanged: Latency;
  let build = Number.NaN;
  try {
    const t0 = performance.now();
    await fetchCrl();
    build = performance.now() - t0;
    // At least 3 calls, up to 10 within 2 s: 3 alone left one slow call half the p50.
    calls = await timeCalls(10, 2, () => fetchCrl());
    derOnly = await timeCalls(10, 2, () => fetchCrl(CrlEncoding.CRL_ENCODING_DER));
    unchanged = await timeCalls(20, 0, () => fetchIfChanged());
  } finally {
    besideMs = await besideLoop.stop();
  }
  const mem = memoryMiB(t.serverPid);
  return {
    buildAlone,
    build,
    calls,
    derOnly,
    unchanged,
    revokedEntries,
    derBytes,
    concurrentGet: summarize(besideMs),
    rssAfter: mem.rss,
    rssPeak: mem.peak,
  };
}

/** Entries of a DER CRL's revokedCertificates (RFC 5280 5.1), read from the DER headers. */
function countRevoked(der: Uint8Array): number {
  const buf = Buffer.from(der);
  // Reads the tag and length at `at`; returns where the content starts and ends.
  const tlv = (at: number) => {
    let len = buf[at + 1]!;
    let start = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + buf[at + 2 + i]!;
      start += n;
    }
    return { tag: buf[at]!, start, end: start + len };
  };
  const tbs = tlv(tlv(0).start);
  // TBSCertList: version?, signature, issuer, thisUpdate, nextUpdate?, revokedCertificates?
  let at = tbs.start;
  const fields: { tag: number; start: number; end: number }[] = [];
  while (at < tbs.end) {
    const f = tlv(at);
    fields.push(f);
    at = f.end;
  }
  // The revokedCertificates SEQUENCE is the one whose elements are SEQUENCEs, after the times.
  const timeTags = new Set([0x17, 0x18]);
  const lastTime = fields.map((f) => timeTags.has(f.tag)).lastIndexOf(true);
  const revoked = fields[lastTime + 1];
  if (revoked?.tag !== 0x30) return 0;
  let n = 0;
  for (let p = revoked.start; p < revoked.end; p = tlv(p).end) n++;
  return n;
}

/**
 * Pages 500, 1000 and 5000 of the unfiltered list at 50 per page. Tokens are signed and opaque,
 * so the walk to each page is made with pages of 1,000 (page_size may change between calls),
 * then the same 50-certificate page is asked for five times.
 */
async function measureDeepPages(
  certs: CertificateServiceClient,
  total: number,
): Promise<Map<number, Latency | undefined>> {
  const out = new Map<number, Latency | undefined>();
  let token = "";
  let offset = 0;
  for (const page of DEEP_PAGES) {
    const target = (page - 1) * PAGE_SIZE;
    if (target + PAGE_SIZE > total) {
      out.set(page, undefined);
      continue;
    }
    while (offset < target) {
      const size = Math.min(1000, target - offset);
      const res = await call(
        certs,
        "listCertificates",
        ListCertificatesRequest.fromPartial({ pageSize: size, pageToken: token }),
      );
      token = res.nextPageToken;
      offset += res.certificates.length;
      if (!token) throw new Error(`the list ended at ${offset} of ${total}`);
    }
    out.set(
      page,
      await timeCalls(5, 60, () =>
        call(
          certs,
          "listCertificates",
          ListCertificatesRequest.fromPartial({ pageSize: PAGE_SIZE, pageToken: token }),
        ),
      ),
    );
  }
  return out;
}
