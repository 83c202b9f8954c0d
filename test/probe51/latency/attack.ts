/**
 * Probe 51 (LATENCY): what one caller can do to everyone else's calls and to the server's
 * memory, on the compiled server (test/probe49/api/live.ts starts it on a fresh database).
 * Attacks speak raw HTTP/2 so that nothing tidies their bytes; the well-behaved client is an
 * ordinary grpc-js client. Nothing here measures time: a deadline is only a hang detector.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  type OutgoingHttpHeaders,
} from "node:http2";
import { afterAll, beforeAll, expect } from "vitest";
import { attrRequest } from "../../certificates/helpers";
import {
  type LiveCertmint,
  Role,
  rootPolicyProfile,
  startLive,
  token,
} from "../../probe49/api/live";
import { call } from "../../support/harness";
import { checkHealth } from "../../support/server-process";

const MIB = 1024 * 1024;

/** A gRPC length-prefixed message (gRPC over HTTP/2: flag byte, 4-byte length, bytes). */
export function grpcFrame(message: Buffer, compressed = false): Buffer {
  const head = Buffer.alloc(5);
  head[0] = compressed ? 1 : 0;
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/** A protobuf varint. */
export function varint(value: number): Buffer {
  const out: number[] = [];
  let n = value;
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** A length-delimited protobuf field. */
export function lengthDelimited(field: number, bytes: Buffer): Buffer {
  return Buffer.concat([varint((field << 3) | 2), varint(bytes.length), bytes]);
}

/** A process's memory figure from /proc (VmRSS, VmHWM: its peak resident set), in bytes. */
export function processMemory(pid: number, figure: "VmRSS" | "VmHWM"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = new RegExp(`${figure}:\\s+(\\d+)`).exec(status)?.[1];
  if (kib === undefined) throw new Error(`no ${figure} for pid ${pid}`);
  return Number(kib) * 1024;
}

export const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`;

/** How a raw stream ended: its grpc-status (from trailers or a trailers-only answer), or a reset. */
export interface StreamEnd {
  grpcStatus?: number;
  grpcMessage?: string;
  /** The RST_STREAM code, when the stream was reset without a gRPC status. */
  rstCode?: number;
}

/** A plaintext HTTP/2 session to the gRPC port, its errors swallowed (the server may cut it). */
export function rawSession(address: string): ClientHttp2Session {
  const session = connect(`http://${address}`);
  session.on("error", () => undefined);
  return session;
}

/** A gRPC stream on `session` to `path` (POST, application/grpc), its errors swallowed. */
export function rawStream(
  session: ClientHttp2Session,
  path: string,
  headers: OutgoingHttpHeaders = {},
): ClientHttp2Stream {
  const stream = session.request({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
    ...headers,
  });
  stream.on("error", () => undefined);
  return stream;
}

/** One gRPC call on `session` that sends `body` and reads its whole answer. */
export function rawGrpcCall(
  session: ClientHttp2Session,
  path: string,
  body: Buffer,
  headers: OutgoingHttpHeaders = {},
): Promise<StreamEnd> {
  const stream = rawStream(session, path, headers);
  return new Promise((resolve) => {
    const end: StreamEnd = {};
    const note = (h: Record<string, unknown>) => {
      if (h["grpc-status"] !== undefined) {
        end.grpcStatus = Number(h["grpc-status"]);
        end.grpcMessage = decodeURIComponent(String(h["grpc-message"] ?? ""));
      }
    };
    stream.on("response", note);
    stream.on("trailers", note);
    stream.on("close", () => {
      if (end.grpcStatus === undefined) end.rstCode = stream.rstCode;
      resolve(end);
    });
    stream.resume();
    stream.end(body);
  });
}

/** A root CA, a profile and an issuer token on it: the well-behaved client of every test. */
export async function wellBehavedIssuer(live: LiveCertmint, slug: string) {
  const { profileId } = await rootPolicyProfile(live, slug);
  const issuer = await token(live, `${slug}-issuer`, Role.ROLE_ISSUER, [slug]);
  return { profile: profileId, issuer };
}

/**
 * The second client's proof that the service still works for it: the server process is alive,
 * health says SERVING, and an IssueCertificate of its own completes with a certificate for the
 * name asked (its deadline a hang detector only).
 */
export async function expectServedWell(
  live: LiveCertmint,
  client: Awaited<ReturnType<typeof wellBehavedIssuer>>,
  name: string,
): Promise<void> {
  expect(live.server.child.exitCode).toBeNull();
  expect(await checkHealth(live.address)).toBe("SERVING");
  const issued = await call(
    client.issuer.clients.certificates,
    "issueCertificate",
    attrRequest(client.profile, { cn: name, dns: [name] }),
  );
  const cert = new X509Certificate(issued.certificate!.certificatePem);
  expect(cert.subjectAltName).toBe(`DNS:${name}`);
}

/**
 * A describe block's live server (startLive with `env`) and its well-behaved issuer on profile
 * `slug`, started before its tests and stopped after them; read them inside the tests.
 */
export function liveWithGoodClient(slug: string, env: Record<string, string> = {}) {
  const state = {} as {
    live: LiveCertmint;
    good: Awaited<ReturnType<typeof wellBehavedIssuer>>;
  };
  beforeAll(async () => {
    state.live = await startLive(env);
    state.good = await wellBehavedIssuer(state.live, slug);
  }, 240_000);
  afterAll(async () => {
    await state.live?.stop();
  });
  return state;
}

export { MIB };
