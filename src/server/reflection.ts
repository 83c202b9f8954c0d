import { readFileSync } from "node:fs";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import type { Server } from "@grpc/grpc-js";
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
  const files = splitFileDescriptorSet(readFileSync(descriptorImagePath()));
  // @grpc/reflection reads only `fileDescriptorProtos` of each entry of the definition.
  const definition = {
    "buf.image": { fileDescriptorProtos: files },
  } as unknown as PackageDefinition;
  new ReflectionService(definition).addToServer(server);
}

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
