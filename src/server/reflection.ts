import { readFileSync } from "node:fs";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import type { Server, ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { PackageDefinition } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { toServiceError } from "../api/errors";
import { invalidField } from "../errors";
import type { CredentialFreeCalls } from "./credential-free-calls";
import { descriptorImagePath } from "./paths";

/**
 * Server reflection (v1 and v1alpha) serving the `buf build` image byte for byte: the files
 * as written, with comments, snake_case field names and their imports (google/rpc, the
 * well-known types, grpc.health.v1). Loading the image through proto-loader instead would
 * re-derive the descriptors and lose the leading dots of type names and map entry names,
 * which grpcurl then cannot resolve.
 */
export function addReflection(server: Server, credentialFree?: CredentialFreeCalls): void {
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
          handler(boundedRequests(call as ReflectionCall, credentialFree), callback);
        };
      }
      server.addService(service, lazy);
    },
  } as Server);
}

/** The longest host a reflection request may name (a DNS name is at most 253 characters). */
export const REFLECTION_HOST_MAX = 255;
/** The longest symbol, file name or type a reflection request may name. */
export const REFLECTION_NAME_MAX = 1024;

type ReflectionCall = {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  emit(event: string, ...args: unknown[]): boolean;
  getPeer(): string;
};

/**
 * The reflection call as the handler sees it: a request naming a host or a symbol longer than
 * any real one ends the call INVALID_ARGUMENT instead of reaching the handler. @grpc/reflection
 * repeats each request in its answer (valid_host, original_request), so a 4 KB gzip request
 * with a 4 MiB host was an 8 MiB answer, and a client with no credential that left a dozen
 * unread filled the server's budget of unread answers, refusing everyone's large pages (until
 * stop 51 of 2026-12-07: an outside probe, LATENCY F3).
 */
function boundedRequests(
  call: ReflectionCall,
  credentialFree: CredentialFreeCalls | undefined,
): ReflectionCall {
  let refused = false;
  const on = (event: string, listener: (...args: unknown[]) => void) => {
    if (event !== "data") return call.on(event, listener);
    return call.on(event, (message: unknown) => {
      if (refused) return;
      // Each request of the stream counts against its address's rate, as a call does.
      const overRate = credentialFree?.refusal(call.getPeer());
      if (overRate) {
        refused = true;
        call.emit("error", overRate);
        return;
      }
      const problem = requestProblem(message);
      if (!problem) {
        listener(message);
        return;
      }
      refused = true;
      call.emit(
        "error",
        toServiceError(
          invalidField(problem.reason, problem.message, problem.field, problem.message),
        ),
      );
    });
  };
  return new Proxy(call, {
    get(target, property) {
      if (property === "on" || property === "addListener") return on;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Why a ServerReflectionRequest is refused, or undefined. */
function requestProblem(
  message: unknown,
): { reason: string; field: string; message: string } | undefined {
  const m = (message ?? {}) as Record<string, unknown>;
  if (typeof m.host === "string" && m.host.length > REFLECTION_HOST_MAX) {
    return {
      reason: "REFLECTION_REQUEST_TOO_LONG",
      field: "host",
      message: `host is ${m.host.length} characters long; at most ${REFLECTION_HOST_MAX}`,
    };
  }
  const named: Array<[string, unknown]> = [
    ["file_by_filename", m.fileByFilename],
    ["file_containing_symbol", m.fileContainingSymbol],
    ["list_services", m.listServices],
    ["all_extension_numbers_of_type", m.allExtensionNumbersOfType],
    [
      "file_containing_extension.containing_type",
      (m.fileContainingExtension as { containingType?: unknown } | undefined)?.containingType,
    ],
  ];
  for (const [field, value] of named) {
    if (typeof value === "string" && value.length > REFLECTION_NAME_MAX) {
      return {
        reason: "REFLECTION_REQUEST_TOO_LONG",
        field,
        message: `${field} is ${value.length} characters long; at most ${REFLECTION_NAME_MAX}`,
      };
    }
  }
  return undefined;
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
