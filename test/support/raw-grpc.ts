/**
 * gRPC calls over a raw HTTP/2 session (node:http2), for tests that need what grpc-js hides:
 * the connection's source address, calls held open, frames sent as they are.
 */
import { type ClientHttp2Session, type ClientHttp2Stream, connect } from "node:http2";
import { connect as netConnect } from "node:net";
import { ErrorInfo, RetryInfo } from "../../gen/ts/google/rpc/error_details";
import { Status } from "../../gen/ts/google/rpc/status";

export interface RawAnswer {
  status: number;
  message: string;
  reason?: string;
  retrySeconds?: number;
  /** The gRPC messages of the answer, without their 5-byte prefixes. */
  messages: Buffer[];
}

/** A raw HTTP/2 connection to 127.0.0.1:`port` from `localAddress` (any of 127.0.0.0/8). */
export function rawSession(port: number, localAddress: string): ClientHttp2Session {
  const s = connect(`http://127.0.0.1:${port}`, {
    createConnection: () => netConnect({ host: "127.0.0.1", port, localAddress }),
  });
  s.on("error", () => undefined);
  return s;
}

/** A gRPC frame: not compressed, the length, the bytes. */
export const grpcFrame = (body: Buffer = Buffer.alloc(0)): Buffer => {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
};

/** A call of `path` whose request never comes: the server holds it open. */
export function heldCall(
  s: ClientHttp2Session,
  path: string,
  headers: Record<string, string> = {},
): ClientHttp2Stream {
  const stream = s.request({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
    ...headers,
  });
  stream.on("error", () => undefined);
  return stream;
}

/** A call of `path` sending `requests` (one empty message by default); how it ended. */
export function rawCall(
  s: ClientHttp2Session,
  path: string,
  requests: Buffer[] = [Buffer.alloc(0)],
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  return new Promise<RawAnswer>((resolve, reject) => {
    const req = s.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    let head: Record<string, unknown> = {};
    req.on("response", (h2) => {
      head = { ...h2 };
    });
    req.on("trailers", (t) => {
      head = { ...head, ...t };
    });
    let body = Buffer.alloc(0);
    req.on("data", (d: Buffer) => {
      body = Buffer.concat([body, d]);
    });
    req.on("error", reject);
    req.on("close", () => {
      const messages: Buffer[] = [];
      for (let at = 0; at + 5 <= body.length; ) {
        const length = body.readUInt32BE(at + 1);
        messages.push(body.subarray(at + 5, at + 5 + length));
        at += 5 + length;
      }
      const answer: RawAnswer = {
        status: Number(head["grpc-status"]),
        message: decodeURIComponent(String(head["grpc-message"] ?? "")),
        messages,
      };
      const details = head["grpc-status-details-bin"];
      if (typeof details === "string") {
        for (const d of Status.decode(Buffer.from(details, "base64")).details) {
          if (d.typeUrl.endsWith("ErrorInfo")) answer.reason = ErrorInfo.decode(d.value).reason;
          if (d.typeUrl.endsWith("RetryInfo")) {
            answer.retrySeconds = Number(RetryInfo.decode(d.value).retryDelay?.seconds ?? 0);
          }
        }
      }
      resolve(answer);
    });
    req.end(Buffer.concat(requests.map((r) => grpcFrame(r))));
  });
}
