/**
 * CLIENTS probe (stop 52): the README's Java fragment ("## Clients"), which test/readme.test.ts
 * does not run, wrapped in the class and imports a team would add and compiled against gen/java
 * and the jars of `make java-tools`, run against the compiled server as the README's TypeScript,
 * Go and Python programs are: it must print the request's status and certificate.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerOnDatabase, startOnFreshDatabase, stopOnDatabase } from "../../probe49/live";
import { type CertmintClients, makeClients } from "../../support/harness";
import { issueCertificateDueForRenewal } from "../../support/renewal-due";
import { ROOT, START_LIMIT_MS } from "../../support/server-process";
import { javaClasses } from "./live-tls";

const README = readFileSync(join(ROOT, "README.md"), "utf8");

function javaFragment(): string {
  const section = README.split("\n## Clients\n")[1]!.split(/\n## /)[0]!;
  const blocks = [...section.matchAll(/^```java\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  expect(blocks).toHaveLength(1);
  return blocks[0]!;
}

describe("the README's Java client fragment", () => {
  let live: ServerOnDatabase;
  let c: CertmintClients;
  const dir = mkdtempSync(join(tmpdir(), "certmint-readme-java-"));
  beforeAll(async () => {
    live = await startOnFreshDatabase({}, "readmejava");
    c = makeClients(live.server.address, live.server.adminToken());
  }, START_LIMIT_MS + 30_000);
  afterAll(async () => {
    await stopOnDatabase([c], live);
    rmSync(dir, { recursive: true, force: true });
  });

  it("compiles with the imports it needs and prints the request's status and certificate", async () => {
    const jars = join(ROOT, ".tools", "java");
    if (!existsSync(join(jars, ".stamp"))) throw new Error("no .tools/java: run `make java-tools`");
    const { issued } = await issueCertificateDueForRenewal(c, {
      rootName: "Readme Java Root",
      name: "readme-java.example.com",
    });
    const fragment = javaFragment().replaceAll("127.0.0.1:50051", live.server.address);
    const source = join(dir, "ReadmeExample.java");
    writeFileSync(
      source,
      [
        "import dev.certmint.v1.*;",
        "import io.grpc.*;",
        "import io.grpc.stub.MetadataUtils;",
        "public final class ReadmeExample {",
        "  public static void main(String[] args) {",
        "    String id = args[0];",
        fragment,
        "    System.out.println(res.getCertificateRequest().getStatus());",
        "    System.out.print(res.getCertificate().getCertificatePem());",
        "    channel.shutdownNow();",
        "  }",
        "}",
      ].join("\n"),
    );
    const classes = javaClasses(jars, []);
    execFileSync(
      "javac",
      ["-J-XX:TieredStopAtLevel=1", "-nowarn", "-d", dir, "-cp", `${classes}:${jars}/*`, source],
      { encoding: "utf8", timeout: 120_000 },
    );
    const out = execFileSync(
      "java",
      [
        "-XX:TieredStopAtLevel=1",
        "-cp",
        `${dir}:${classes}:${jars}/*`,
        "ReadmeExample",
        issued.certificateRequestId,
      ],
      {
        encoding: "utf8",
        timeout: 60_000,
        env: { ...process.env, CERTMINT_TOKEN: live.server.adminToken() },
      },
    );
    expect(out).toBe(`CERTIFICATE_REQUEST_STATUS_ISSUED\n${issued.certificate!.certificatePem}`);
  }, 200_000);
});
