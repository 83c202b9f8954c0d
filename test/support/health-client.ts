import type * as grpc from "@grpc/grpc-js";
import { loadPackageDefinition } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { protoPath } from "grpc-health-check";

/** A grpc.health.v1.Health client for tests, loaded from the proto grpc-health-check ships. */
interface HealthClientType extends grpc.Client {
  check(
    req: { service: string },
    options: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res: { status: string }) => void,
  ): void;
  watch(
    req: { service: string },
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<{
    status: string;
  }>;
}

const definition = loadSync(protoPath, { keepCase: true, enums: String, defaults: true });
// biome-ignore lint/suspicious/noExplicitAny: dynamic package definition
const pkg = loadPackageDefinition(definition) as any;

export const HealthClient: new (
  address: string,
  creds: grpc.ChannelCredentials,
) => HealthClientType = pkg.grpc.health.v1.Health;
