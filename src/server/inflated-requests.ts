/**
 * Compressed request messages inflated within the request-bytes budget (request-bytes.ts).
 *
 * grpc-js inflates a gzip or deflate message as soon as it has arrived, before any handler (so
 * before authentication), checking only that it stays under CERTMINT_MAX_MESSAGE_BYTES. A 4 KB
 * message inflates to 4 MiB, so the budget of bytes arriving said nothing about the bytes held:
 * 64 such messages sent at once with no credential raised the server's RSS by ~350 MiB (an
 * outside probe of stop 51 of 2026-12-07, LATENCY F1). Here each inflated chunk is counted
 * against the stream's budget as it comes out of zlib, until the message is decoded; past the
 * budget the inflation stops and the call is RESOURCE_EXHAUSTED (transport-statuses.ts gives it
 * its ErrorInfo). Inflations at once are what this bounds: held past its decoding, a request
 * would let a few open watches with large unknown fields keep the process's budget, and refuse
 * other clients' requests for as long as they stayed open.
 *
 * This replaces decompressMessage of grpc-js's internal call class, in the version package.json
 * pins (1.14.7), as framed-responses.ts replaces serializeMessage; the statuses it answers are
 * grpc-js's own. If the class or method is not found (another version), nothing is replaced:
 * test/server/inflated-requests.test.ts fails then, so an upgrade that loses this is seen.
 */
import type { ServerHttp2Stream } from "node:http2";
import { createGunzip, createInflate } from "node:zlib";
import { status } from "@grpc/grpc-js";
import { grpcServerCallClass } from "./grpc-internals";
import { type InflationBudget, inflationBudgetOf } from "./request-bytes";

/** The details of the refusal, recognised by transport-statuses.ts. */
export const INFLATION_REFUSED =
  "Received message that decompresses beyond the request-bytes budget";

/**
 * The details of a message whose Compressed-Flag does not fit the call, recognised by
 * transport-statuses.ts: PROTOCOL-HTTP2.md allows a flag of 0 or 1, and "If the
 * Message-Encoding header is omitted then the Compressed-Flag must be 0" (identity is no
 * compression either). grpc-js read both as uncompressed bytes (server-interceptors.js
 * decompressAndMaybePush; an outside probe of stop 52, TRANSPORT F3); grpc-go refuses them.
 */
export const COMPRESSED_WITHOUT_ENCODING =
  "Received message flagged compressed without a grpc-encoding";
export const COMPRESSED_FLAG_INVALID = "Received message with a Compressed-Flag other than 0 or 1";

interface GrpcServerCall {
  stream?: ServerHttp2Stream;
  maxReceiveMessageSize: number;
}

type Decompress = (this: GrpcServerCall, message: Buffer, encoding: string) => unknown;

let installed: boolean | undefined;

/** Installs the counted inflation; true when it is in place. Idempotent. */
export function installInflatedRequests(): boolean {
  if (installed !== undefined) return installed;
  const cls = grpcServerCallClass<{ decompressMessage?: Decompress }>("decompressMessage");
  if (!cls) {
    installed = false;
    return false;
  }
  const original = cls.prototype.decompressMessage!;
  cls.prototype.decompressMessage = function decompressMessage(
    this: GrpcServerCall,
    message: Buffer,
    encoding: string,
  ): unknown {
    // grpc-js passes the encoding of the call when the flag is 1, and identity for any other.
    const flag = message[0];
    if (flag !== 0 && flag !== 1) {
      return Promise.reject({ code: status.INTERNAL, details: COMPRESSED_FLAG_INVALID });
    }
    if (flag === 1 && encoding === "identity") {
      return Promise.reject({ code: status.INTERNAL, details: COMPRESSED_WITHOUT_ENCODING });
    }
    const budget = inflationBudgetOf(this.stream);
    if ((encoding !== "gzip" && encoding !== "deflate") || !budget) {
      return original.call(this, message, encoding);
    }
    return inflate(message.subarray(5), encoding, this.maxReceiveMessageSize, budget);
  };
  installed = true;
  return true;
}

/**
 * grpc-js's inflation (server-interceptors.js decompressMessage), each chunk counted first. The
 * bytes are given back once the message was handed on: grpc-js decodes the buffer as soon as
 * this promise resolves (decompressAndMaybePush), so by the next turn of the event loop it is
 * garbage, and what the call keeps is the decoded request (bounded per field: request-limits.ts,
 * health.ts, reflection.ts).
 */
function inflate(
  contents: Buffer,
  encoding: "gzip" | "deflate",
  maxBytes: number,
  budget: InflationBudget,
): Promise<Buffer> {
  const inflater = encoding === "gzip" ? createGunzip() : createInflate();
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let total = 0;
    let refused = false;
    const refuse = (code: number, details: string) => {
      refused = true;
      parts.length = 0;
      inflater.destroy();
      reject({ code, details });
    };
    inflater.on("error", () =>
      reject({ code: status.INTERNAL, details: "Failed to decompress message" }),
    );
    inflater.on("data", (chunk: Buffer) => {
      if (refused) return;
      total += chunk.byteLength;
      if (maxBytes !== -1 && total > maxBytes) {
        refuse(
          status.RESOURCE_EXHAUSTED,
          `Received message that decompresses to a size larger than ${maxBytes}`,
        );
        return;
      }
      if (!budget.take(chunk.byteLength)) {
        refuse(status.RESOURCE_EXHAUSTED, INFLATION_REFUSED);
        return;
      }
      parts.push(chunk);
    });
    inflater.on("end", () => {
      resolve(Buffer.concat(parts));
      setImmediate(() => budget.giveBack(total));
    });
    inflater.write(contents);
    inflater.end();
  });
}
