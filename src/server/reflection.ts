import { readFileSync } from "node:fs";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import type { Server, ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { PackageDefinition } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { descriptorImagePath } from "./paths";

/**
 * Server reflection (v1 and v1alpha) serving the `buf build` image byte for byte: the files
 * as written, with comments, snake_case field names and their imports (google/rpc, the
 * well-known types, grpc.health.v1). Loading the image through proto-loader instead would
 * re-derive the descriptors and lose the leading dots of type names and map entry names,
 * which grpcurl then cannot resolve.
 */
export function addReflection(server: Server): void {
  // The image is decoded on the first reflection call, not at start-up: ReflectionService
  // decodes every file (comments included) once per protocol version (v1 and v1alpha) and keeps
  // the result, about 4 MiB of heap that a server nobody runs grpcurl against never needs.
  // An empty ReflectionService gives the service definitions to register; each handler passes
  // its call to the real one.
  let real: Map<string, UntypedServiceImplementation> | undefined;
  const implementationOf = (service: ServiceDefinition): UntypedServiceImplementation => {
    if (!real) {
      const loaded = new Map<string, UntypedServiceImplementation>();
      new ReflectionService(imageDefinition()).addToServer(collect(loaded));
      real = loaded;
    }
    const implementation = real.get(serviceKey(service));
    if (!implementation) throw new Error(`no reflection implementation for ${serviceKey(service)}`);
    return implementation;
  };
  new ReflectionService({}).addToServer({
    addService(service: ServiceDefinition, implementation: UntypedServiceImplementation): void {
      const lazy: UntypedServiceImplementation = {};
      for (const method of Object.keys(implementation)) {
        lazy[method] = (call: unknown, callback?: unknown) => {
          const handler = implementationOf(service)[method] as (...args: unknown[]) => void;
          handler(call, callback);
        };
      }
      server.addService(service, lazy);
    },
  } as Server);
}

/** The `buf build` image as the package definition @grpc/reflection reads. */
function imageDefinition(): PackageDefinition {
  const files = splitFileDescriptorSet(readFileSync(descriptorImagePath()));
  // @grpc/reflection reads only `fileDescriptorProtos` of each entry of the definition.
  return { "buf.image": { fileDescriptorProtos: files } } as unknown as PackageDefinition;
}

/** A service by the paths of its methods ("/grpc.reflection.v1.ServerReflection/..."). */
const serviceKey = (service: ServiceDefinition): string =>
  Object.values(service)
    .map((m) => m.path)
    .join(",");

/** A stand-in server that keeps the implementations given to addService, by service. */
const collect = (into: Map<string, UntypedServiceImplementation>): Server =>
  ({
    addService(service: ServiceDefinition, implementation: UntypedServiceImplementation) {
      into.set(serviceKey(service), implementation);
    },
  }) as Server;

/** The encoded FileDescriptorProtos of a FileDescriptorSet (field 1, repeated). */
export function splitFileDescriptorSet(image: Uint8Array): Buffer[] {
  const reader = new BinaryReader(image);
  const files: Buffer[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited)
      files.push(Buffer.from(reader.bytes()));
    else reader.skip(wireType);
  }
  return files;
}
