/**
 * Reusable responses leave as the same framed buffer on every send (src/server/framed-responses.ts
 * over src/api/reusable-response.ts), other responses framed per send as grpc-js frames them;
 * and on a real grpc-js server and client, both arrive whole and decode to what was sent.
 */
import {
  type CallOptions,
  credentials,
  makeGenericClientConstructor,
  Server,
  ServerCredentials,
  type ServiceDefinition,
} from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetCertificateRevocationListResponse as Crl } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { encodingReusableOnce, reusableResponse } from "../../src/api/reusable-response";
import { installFramedResponses } from "../../src/server/framed-responses";

const message = (n: string, derBytes = 16): Crl => ({
  crlPem: `-----BEGIN X509 CRL-----\n${n}\n-----END X509 CRL-----\n`,
  crlDer: Buffer.alloc(derBytes, n.length),
  crlNumber: n,
  thisUpdate: new Date("2026-12-05T00:00:00Z"),
  nextUpdate: new Date("2026-12-06T00:00:00Z"),
  unchanged: false,
});
const serialize = encodingReusableOnce((m: Crl) => Buffer.from(Crl.encode(m).finish()));

/** grpc-js's framing method, as installed, on a call whose handler has our serializer. */
async function grpcFraming(): Promise<(value: Crl) => Buffer> {
  const internals = await import("@grpc/grpc-js/build/src/server-interceptors");
  const method = (
    internals.BaseServerInterceptingCall.prototype as unknown as {
      serializeMessage(this: unknown, value: unknown): Buffer;
    }
  ).serializeMessage;
  const call = { handler: { serialize } };
  return (value) => method.call(call, value);
}

/** The message inside a gRPC frame: flag 0, then the length (big-endian), then the bytes. */
function unframe(frame: Buffer): Crl {
  expect(frame[0]).toBe(0);
  expect(frame.readUInt32BE(1)).toBe(frame.length - 5);
  return Crl.decode(frame.subarray(5));
}

describe("framed responses", () => {
  beforeAll(() => {
    expect(installFramedResponses()).toBe(true); // fails if a grpc-js upgrade moved the method
  });

  it("a reusable message leaves as one frame, built once, on every send", async () => {
    const frame = await grpcFraming();
    const reused = reusableResponse(message("7", 100_000));
    const first = frame(reused);
    expect(frame(reused)).toBe(first);
    expect(unframe(first)).toEqual(reused);
  });

  it("any other message gets a frame of its own on each send, with its content then", async () => {
    const frame = await grpcFraming();
    const plain = message("8");
    const first = frame(plain);
    plain.crlNumber = "9";
    const second = frame(plain);
    expect(second).not.toBe(first);
    expect(unframe(first).crlNumber).toBe("8");
    expect(unframe(second).crlNumber).toBe("9");
  });

  describe("over a grpc-js server and client", () => {
    const server = new Server();
    const reused = reusableResponse(message("42", 3_000_000)); // frames span many DATA frames
    let client: InstanceType<ReturnType<typeof makeGenericClientConstructor>>;
    const service: ServiceDefinition = {
      get: {
        path: "/test.Framed/Get",
        requestStream: false,
        responseStream: false,
        requestSerialize: (v: Buffer) => v,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: serialize as (v: unknown) => Buffer,
        responseDeserialize: (b: Buffer) => Crl.decode(b),
      },
    };

    beforeAll(async () => {
      installFramedResponses();
      server.addService(service, {
        get: (call: { request: Buffer }, done: (e: null, v: Crl) => void) =>
          done(null, call.request.length === 0 ? reused : message(call.request.toString())),
      });
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) =>
          e ? reject(e) : resolve(p),
        ),
      );
      const Client = makeGenericClientConstructor(service, "Framed");
      client = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), {
        "grpc.max_receive_message_length": 64 * 1024 * 1024,
      });
    });
    afterAll(() => {
      client?.close();
      server.forceShutdown();
    });

    const get = (request: Buffer) =>
      new Promise<Crl>((resolve, reject) =>
        (
          client as unknown as {
            get(r: Buffer, o: CallOptions, cb: (e: Error | null, v: Crl) => void): void;
          }
        ).get(request, {}, (e, v) => (e ? reject(e) : resolve(v))),
      );

    it("the same frame queued on several streams at once arrives whole on each", async () => {
      const answers = await Promise.all([0, 1, 2, 3].map(() => get(Buffer.alloc(0))));
      for (const answer of answers) {
        expect(answer.crlNumber).toBe("42");
        expect(Buffer.compare(Buffer.from(answer.crlDer), reused.crlDer)).toBe(0);
        expect(answer.crlPem).toBe(reused.crlPem);
      }
    });

    it("plain messages between them keep their own content", async () => {
      const [a, b, c] = await Promise.all([
        get(Buffer.from("a")),
        get(Buffer.alloc(0)),
        get(Buffer.from("b")),
      ]);
      expect([a?.crlNumber, b?.crlNumber, c?.crlNumber]).toEqual(["a", "42", "b"]);
    });
  });
});
