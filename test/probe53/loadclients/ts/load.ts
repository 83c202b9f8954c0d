/**
 * A TypeScript service using certmint with its generated client (ts-proto on grpc-js) as its
 * users run it: one client over TLS with grpc-js's keepalive (10 s, permit without calls),
 * unary reads one after another and 64 at once, gzip ('grpc.default_compression_algorithm'),
 * deadlines of 1 s to 40 days, watches cancelled in bulk, idle with the keepalive, and a watch
 * that resumes with its cursor when the server recycles the connection. The same phases and
 * result shapes as ../go/main.go; run in the test's process (../ts-client.test.ts).
 */
import { readFileSync } from "node:fs";
import {
  CallCredentials,
  type ChannelOptions,
  type ClientReadableStream,
  connectivityState,
  credentials,
  Metadata,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import {
  CertificateEventType,
  CertificateServiceClient,
  GetCertificateRequest,
  IssueCertificateRequest,
  type WatchCertificatesResponse,
} from "../../../../gen/ts/certmint/v1/certificate_service";

export type Env = Record<string, string>;

export const KEEPALIVE: ChannelOptions = {
  "grpc.keepalive_time_ms": 10_000,
  "grpc.keepalive_timeout_ms": 5_000,
  "grpc.keepalive_permit_without_calls": 1,
};

export class Tally {
  calls = 0;
  errors = 0;
  wrong = 0;
  first_errors: string[] = [];

  add(err: Error | null | undefined, right = true): void {
    this.calls++;
    if (err) {
      this.errors++;
      if (this.first_errors.length < 3) this.first_errors.push(err.message);
    } else if (!right) this.wrong++;
  }
}

export function client(env: Env, options: ChannelOptions = {}): CertificateServiceClient {
  const tls = credentials.createSsl(readFileSync(env.LOAD_CA_FILE!));
  const token = CallCredentials.createFromMetadataGenerator((_params, callback) => {
    const m = new Metadata();
    m.set("authorization", `Bearer ${env.CERTMINT_TOKEN}`);
    callback(null, m);
  });
  return new CertificateServiceClient(
    env.LOAD_ADDR!,
    credentials.combineChannelCredentials(tls, token),
    {
      ...KEEPALIVE,
      ...options,
    },
  );
}

/** Counts the channel's transitions to READY: one while the server keeps the connection. */
export function readiness(c: CertificateServiceClient): () => number {
  const channel = c.getChannel();
  let ready = 0;
  const stopped = false;
  const watch = (last: connectivityState) => {
    channel.watchConnectivityState(last, Number.POSITIVE_INFINITY, () => {
      const now = channel.getConnectivityState(false);
      if (now === connectivityState.READY) ready++;
      if (now !== connectivityState.SHUTDOWN && !stopped) watch(now);
    });
  };
  watch(channel.getConnectivityState(true));
  return () => {
    return ready;
  };
}

export function get(c: CertificateServiceClient, id: string, timeoutMs = 30_000) {
  return new Promise<{ err: ServiceError | null; right: boolean }>((resolve) =>
    c.getCertificate(
      GetCertificateRequest.fromPartial({ certificate: id }),
      new Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err, res) => resolve({ err, right: res?.certificate?.id === id }),
    ),
  );
}

export function issue(c: CertificateServiceClient, env: Env, name: string) {
  return new Promise<{ err: ServiceError | null; id?: string }>((resolve) =>
    c.issueCertificate(
      IssueCertificateRequest.fromPartial({
        certificateProfile: env.LOAD_PROFILE,
        source: {
          $case: "attributes",
          value: { subject: { commonName: name }, subjectAlternativeNames: { dnsNames: [name] } },
        },
      }),
      new Metadata(),
      { deadline: Date.now() + 30_000 },
      (err, res) =>
        resolve({
          err,
          id: res?.certificate?.certificatePem ? res.certificate.certificateId : undefined,
        }),
    ),
  );
}

/** Waits for each stream's first message or error, counted in `t`. */
export function firstMessages(streams: ClientReadableStream<unknown>[], t: Tally): Promise<void> {
  return Promise.all(
    streams.map(
      (s) =>
        new Promise<void>((resolve) => {
          let done = false;
          const settle = (e: Error | null) => {
            if (done) return;
            done = true;
            t.add(e);
            resolve();
          };
          s.once("data", () => settle(null));
          s.on("error", settle);
        }),
    ),
  ).then(() => undefined);
}

/** A watch's end: its status code, or "OK". */
function ended(stream: ClientReadableStream<unknown>): Promise<string> {
  return new Promise((resolve) => {
    stream.on("error", (e: ServiceError) => resolve(status[e.code] ?? String(e.code)));
    stream.on("end", () => resolve("OK"));
  });
}

async function tallied(t: Tally, p: Promise<{ err: ServiceError | null; right: boolean }>) {
  const { err, right } = await p;
  t.add(err, right);
}

export async function volume(env: Env): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const id = env.LOAD_CERT_ID!;
  const n = Number(env.LOAD_CALLS ?? 1500);
  const c = client(env);
  const ready = readiness(c);

  const seq = new Tally();
  for (let i = 0; i < n; i++) await tallied(seq, get(c, id));
  out.sequential = seq;

  const conc = new Tally();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next++ < n) await tallied(conc, get(c, id));
    }),
  );
  out.concurrent64 = conc;

  const gz = new Tally();
  const gzc = client(env, { "grpc.default_compression_algorithm": 2 });
  for (let i = 0; i < 300; i++) await tallied(gz, get(gzc, id));
  for (let i = 0; i < 5; i++) {
    const r = await issue(gzc, env, `ts-gzip-${i}.example.com`);
    gz.add(r.err, r.id !== undefined);
  }
  gzc.close();
  out.gzip = gz;

  const deadlines: Record<string, string> = {};
  for (const [name, ms] of [
    ["1s", 1000],
    ["30s", 30_000],
    ["48h", 48 * 3600_000],
    ["40d", 40 * 86_400_000],
  ] as const) {
    const { err } = await get(c, id, ms);
    deadlines[name] = err ? status[err.code]! : "OK";
  }
  out.deadlines = deadlines;
  out.watch_1s_deadline = await ended(
    c.watchCertificates(
      { scope: { $case: "certificateId", value: id }, afterCursor: "" },
      new Metadata(),
      { deadline: Date.now() + 1000 },
    ),
  );

  // 90 watches past their first message, then cancelled together.
  const opened = new Tally();
  const streams = Array.from({ length: 90 }, () =>
    c.watchCertificates({ scope: { $case: "certificateId", value: id }, afterCursor: "" }),
  );
  await firstMessages(streams, opened);
  for (const s of streams) s.cancel();
  out.watches_opened = opened;
  const after = new Tally();
  for (let i = 0; i < 200; i++) await tallied(after, get(c, id));
  out.after_cancel = after;

  await new Promise((r) => setTimeout(r, Number(env.LOAD_IDLE_MS ?? 21_000)));
  const idle = new Tally();
  for (let i = 0; i < 20; i++) await tallied(idle, get(c, id));
  out.after_idle = idle;
  out.connections = ready();
  c.close();
  return JSON.parse(JSON.stringify(out));
}

export async function rollover(env: Env): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const c = client(env);
  const ready = readiness(c);
  const seen = new Map<string, number>();
  const resumes: Record<string, number> = {};
  let fatal: string | undefined;
  let current: ClientReadableStream<WatchCertificatesResponse> | undefined;
  let stopped = false;
  let started: () => void = () => undefined;
  const first = new Promise<void>((r) => {
    started = r;
  });
  const watching = (async () => {
    let cursor = "";
    while (!stopped) {
      const s = c.watchCertificates({
        scope: { $case: "certificateProfile", value: env.LOAD_PROFILE! },
        afterCursor: cursor,
      });
      current = s;
      s.on("data", (e: WatchCertificatesResponse) => {
        cursor = e.cursor;
        started();
        if (e.type === CertificateEventType.CERTIFICATE_EVENT_TYPE_ISSUED) {
          const cid = e.certificate!.id;
          seen.set(cid, (seen.get(cid) ?? 0) + 1);
        }
      });
      const code = await ended(s);
      if (stopped) return;
      resumes[code] = (resumes[code] ?? 0) + 1;
      if (code !== "UNAVAILABLE") {
        fatal = code;
        return;
      }
    }
  })();
  await first;
  // 16 readers the while, on the same client, across every recycling.
  const reads = new Tally();
  let reading = true;
  const readers = Array.from({ length: 16 }, async () => {
    while (reading) await tallied(reads, get(c, env.LOAD_CERT_ID!));
  });
  const issued: string[] = [];
  const unary = new Tally();
  for (let i = 0; i < 200 && ((resumes.UNAVAILABLE ?? 0) < 2 || ready() < 3); i++) {
    const r = await issue(c, env, `ts-roll-${i}.example.com`);
    unary.add(r.err, r.id !== undefined);
    if (r.id) issued.push(r.id);
    await new Promise((res) => setTimeout(res, 200)); // a service's pace, not a synchronisation
  }
  const end = Date.now() + 60_000;
  while (Date.now() < end && !fatal && !issued.every((cid) => seen.has(cid))) {
    await new Promise((res) => setTimeout(res, 50));
  }
  stopped = true;
  current?.cancel();
  await watching;
  reading = false;
  await Promise.all(readers);
  out.reads = reads;
  out.issued = issued.length;
  out.missing = issued.filter((cid) => !seen.has(cid)).length;
  out.repeated = issued.filter((cid) => (seen.get(cid) ?? 0) > 1).length;
  out.resumes = resumes;
  if (fatal) out.watch_fatal = fatal;
  out.unary = unary;
  out.reconnected_twice = ready() >= 3;
  c.close();
  return JSON.parse(JSON.stringify(out));
}
