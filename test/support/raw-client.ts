/**
 * A gRPC client that sends request bytes exactly as given: no generated code, no encoder that
 * could tidy them up (grpc-js with identity serializers). Protobuf encoders in JavaScript write
 * strings with TextEncoder, which turns an unpaired surrogate into U+FFFD, so invalid UTF-8 and
 * other wire-level oddities can only be sent this way.
 */
import {
  type Client,
  credentials,
  makeGenericClientConstructor,
  type ServiceError,
} from "@grpc/grpc-js";
import { bearer, type DecodedError, decodeError } from "./harness";

const identity = (b: Buffer) => b;

export interface RawOutcome {
  /** The decoded error, when the call failed. */
  error?: DecodedError;
  /** The raw error as grpc-js reported it. */
  serviceError?: ServiceError;
  response?: Buffer;
}

export class RawClient {
  private readonly clients = new Map<string, Client & Record<string, unknown>>();
  constructor(
    private readonly address: string,
    private readonly token: string,
  ) {}

  /** Sends `bytes` as the request of the RPC at `path` ("/certmint.v1.X/Y"). */
  call(path: string, bytes: Uint8Array, deadlineMs = 60_000): Promise<RawOutcome> {
    let client = this.clients.get(path);
    if (!client) {
      const Ctor = makeGenericClientConstructor(
        {
          call: {
            path,
            requestStream: false,
            responseStream: false,
            requestSerialize: identity,
            requestDeserialize: identity,
            responseSerialize: identity,
            responseDeserialize: identity,
          },
        },
        "Raw",
      );
      client = new Ctor(this.address, credentials.createInsecure(), {
        interceptors: [bearer(this.token)],
        "grpc.max_send_message_length": 8 << 20,
      }) as Client & Record<string, unknown>;
      this.clients.set(path, client);
    }
    const fn = client.call as (
      req: Buffer,
      opts: { deadline: number },
      cb: (err: ServiceError | null, res?: Buffer) => void,
    ) => void;
    return new Promise((resolve) => {
      fn.call(client, Buffer.from(bytes), { deadline: Date.now() + deadlineMs }, (err, res) =>
        resolve(err ? { error: decodeError(err), serviceError: err } : { response: res }),
      );
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }
}
