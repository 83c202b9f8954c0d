/**
 * Stop 50, helper CONTRACT: server reflection of the compiled server, read as grpcurl reads it
 * (list, then describe: file_containing_symbol and every dependency by file_by_filename), with a
 * reflection client of our own (grpcurl is not needed): README "Talking to certmint with
 * grpcurl" says it lists the six services and health, and describes messages with their
 * snake_case names and comments; v1 and v1alpha both (grpcurl and older tools use either).
 */
import { join } from "node:path";
import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import {
  type ClientDuplexStream,
  credentials,
  loadPackageDefinition,
  type ServiceClientConstructor,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LiveCertmint, startLive } from "../../probe49/api/live";
import {
  allMethods,
  CERTMINT_SERVICES,
  commentOf,
  contract,
  rpcPath,
} from "../../support/contract";

const REFLECTION_PROTO = join(
  __dirname,
  "..",
  "..",
  "..",
  "node_modules",
  "@grpc",
  "reflection",
  "build",
  "proto",
  "grpc",
  "reflection",
);

interface ReflectionResponse {
  listServicesResponse?: { service: Array<{ name: string }> };
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

/** One reflection stream: ask, await the answer (requests are answered in order). */
class Reflection {
  private readonly client: InstanceType<ServiceClientConstructor>;
  private readonly stream: ClientDuplexStream<object, ReflectionResponse>;
  private readonly waiting: Array<(r: ReflectionResponse) => void> = [];

  constructor(address: string, version: "v1" | "v1alpha") {
    const def = loadSync(join(REFLECTION_PROTO, version, "reflection.proto"), { keepCase: false });
    const pkg = loadPackageDefinition(def) as unknown as {
      grpc: { reflection: Record<string, { ServerReflection: ServiceClientConstructor }> };
    };
    const Ctor = pkg.grpc.reflection[version]!.ServerReflection;
    this.client = new Ctor(address, credentials.createInsecure());
    this.stream = (
      this.client as unknown as {
        serverReflectionInfo(): ClientDuplexStream<object, ReflectionResponse>;
      }
    ).serverReflectionInfo();
    this.stream.on("data", (r: ReflectionResponse) => this.waiting.shift()?.(r));
    this.stream.on("error", () => {});
  }

  ask(request: object): Promise<ReflectionResponse> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.stream.write(request);
    });
  }

  /** Every file a symbol needs, its dependencies fetched by name as grpcurl does. */
  async filesFor(symbol: string): Promise<Map<string, Uint8Array>> {
    const files = new Map<string, Uint8Array>();
    const add = (r: ReflectionResponse) => {
      if (r.errorResponse) throw new Error(`${symbol}: ${r.errorResponse.errorMessage}`);
      for (const b of r.fileDescriptorResponse!.fileDescriptorProto) {
        const fd = fromBinary(FileDescriptorProtoSchema, b);
        files.set(fd.name, b);
      }
    };
    add(await this.ask({ fileContainingSymbol: symbol }));
    for (;;) {
      const missing = [...files.values()]
        .flatMap((b) => fromBinary(FileDescriptorProtoSchema, b).dependency)
        .filter((d) => !files.has(d));
      if (missing.length === 0) return files;
      for (const name of new Set(missing)) add(await this.ask({ fileByFilename: name }));
    }
  }

  close() {
    this.stream.end();
    this.client.close();
  }
}

describe.each(["v1", "v1alpha"] as const)("probe50 CONTRACT: server reflection %s", (version) => {
  let live: LiveCertmint;
  let reflection: Reflection;

  beforeAll(async () => {
    live = await startLive();
    reflection = new Reflection(live.address, version);
  });
  afterAll(async () => {
    reflection.close();
    await live.stop();
  });

  it("lists the six certmint services, health and reflection", async () => {
    const r = await reflection.ask({ listServices: "*" });
    const names = r.listServicesResponse!.service.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining([...CERTMINT_SERVICES, "grpc.health.v1.Health"]));
  });

  it("every service resolves with all its dependencies, and every method and field matches proto/", async () => {
    const all = new Map<string, Uint8Array>();
    for (const service of CERTMINT_SERVICES)
      for (const [name, bytes] of await reflection.filesFor(service)) all.set(name, bytes);
    const registry = createFileRegistry(concatSet([...all.values()]));
    for (const m of allMethods()) {
      const served = registry.getService(m.parent.typeName)?.methods.find((x) => x.name === m.name);
      expect(served, rpcPath(m)).toBeDefined();
      expect(served!.input.typeName).toBe(m.input.typeName);
      expect(served!.output.typeName).toBe(m.output.typeName);
      expect(served!.methodKind).toBe(m.methodKind);
      expect(served!.input.fields.map((f) => `${f.number} ${f.name}`)).toEqual(
        m.input.fields.map((f) => `${f.number} ${f.name}`),
      );
    }
  });

  it("describe of a message gives its snake_case fields and their comments (source info)", async () => {
    const files = await reflection.filesFor("certmint.v1.IssueCertificateRequest");
    const registry = createFileRegistry(concatSet([...files.values()]));
    const message = registry.getMessage("certmint.v1.IssueCertificateRequest")!;
    expect(message.fields.map((f) => f.name)).toContain("validate_only");
    const served = message.fields.find((f) => f.name === "validate_only")!;
    const ours = contract
      .getMessage("certmint.v1.IssueCertificateRequest")!
      .fields.find((f) => f.name === "validate_only")!;
    expect(commentOf(served).trim()).toBe(commentOf(ours).trim());
    expect(commentOf(served)).toContain("sign nothing and store nothing");
  });

  it("a method symbol (grpcurl describe Service.Method) and a nested enum resolve; an unknown symbol is NOT_FOUND (5)", async () => {
    const method = await reflection.ask({
      fileContainingSymbol: "certmint.v1.CertificateService.IssueCertificate",
    });
    expect(method.errorResponse).toBeUndefined();
    const en = await reflection.ask({ fileContainingSymbol: "certmint.v1.KeyAlgorithm" });
    expect(en.errorResponse).toBeUndefined();
    const none = await reflection.ask({ fileContainingSymbol: "certmint.v1.NoSuchThing" });
    expect(none.errorResponse?.errorCode).toBe(5);
  });
});

/**
 * A FileDescriptorSet of `files`, dependencies before the files that import them (as
 * createFileRegistry needs them): encoded as field 1, length-delimited, each.
 */
function concatSet(unordered: Uint8Array[]) {
  const byName = new Map(
    unordered.map((b) => [fromBinary(FileDescriptorProtoSchema, b), b] as const),
  );
  const files: Uint8Array[] = [];
  const done = new Set<string>();
  const visit = (name: string) => {
    if (done.has(name)) return;
    done.add(name);
    const entry = [...byName].find(([fd]) => fd.name === name);
    if (!entry) throw new Error(`reflection did not serve ${name}`);
    for (const d of entry[0].dependency) visit(d);
    files.push(entry[1]);
  };
  for (const fd of byName.keys()) visit(fd.name);
  const parts: number[] = [];
  for (const f of files) {
    parts.push(0x0a);
    let n = f.length;
    while (n > 0x7f) {
      parts.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    parts.push(n);
    for (const b of f) parts.push(b);
  }
  return fromBinary(FileDescriptorSetSchema, Uint8Array.from(parts));
}
