/**
 * LOADCLIENTS probe (stop 53): a whole page of certificates under a common enterprise chain (an
 * RSA-4096 root and an RSA-4096 intermediate, P-256 leaves), read the way clients read an
 * inventory: ListCertificates with page_size 1000 (the largest the API allows, what the CLI's
 * `cert list --all` asks for) and the default view (FULL: PEMs and chain), by a client with its
 * library's default options. Every gRPC library receives at most 4 MiB per message by default
 * (grpc-js, grpc-go, grpc-java, grpcio); the README says certificate pages stop at 3 MiB (a
 * shorter page with a next_page_token), which these tests hold it to.
 */
import { join } from "node:path";
import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { beforeAll, describe, expect, it } from "vitest";
import {
  CreateIntermediateCertificateAuthorityRequest,
  CreateRootCertificateAuthorityRequest,
} from "../../../gen/ts/certmint/v1/certificate_authority_service";
import { CreateCertificateProfileRequest } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import {
  IssueCertificateRequest,
  ListCertificatesRequest,
  ListCertificatesResponse,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import { runCli } from "../../cli/cli";
import { call } from "../../support/harness";
import { liveLoadSuite } from "./live-load";
import { client } from "./ts/load";

const PROFILE = "inventory";
const CERTIFICATES = 1000;
const seconds = (n: number) => ({ seconds: String(n), nanos: 0 });

describe("a 1,000-certificate page under an RSA-4096 root and intermediate", () => {
  const server = liveLoadSuite("ldpage");

  beforeAll(async () => {
    const admin = server().admin;
    await call(
      admin.authorities,
      "createRootCertificateAuthority",
      CreateRootCertificateAuthorityRequest.fromPartial({
        slug: "corp-root",
        subject: { commonName: "Corp Root CA", organization: ["Corp"] },
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_RSA_4096,
      }),
    );
    await call(
      admin.authorities,
      "createIntermediateCertificateAuthority",
      CreateIntermediateCertificateAuthorityRequest.fromPartial({
        slug: "corp-issuing",
        parentCertificateAuthority: "corp-root",
        subject: { commonName: "Corp Issuing CA 1", organization: ["Corp"] },
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_RSA_4096,
      }),
    );
    await call(
      admin.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: PROFILE,
          certificatePolicy: "web-tls",
          issuer: { $case: "certificateAuthority", value: "corp-issuing" },
          defaults: { ttl: seconds(3600), keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256 },
        },
      }),
    );
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = next++; i < CERTIFICATES; i = next++) {
          const name = `host-${i}.svc.example.com`;
          await call(
            admin.certificates,
            "issueCertificate",
            IssueCertificateRequest.fromPartial({
              certificateProfile: PROFILE,
              source: {
                $case: "attributes",
                value: {
                  subject: { commonName: name },
                  subjectAlternativeNames: { dnsNames: [name, `www.${name}`] },
                },
              },
            }),
          );
        }
      }),
    );
  }, 150_000);

  /** One page of the profile's certificates, by a client with grpc-js's default options. */
  function page(pageSize: number, pageToken = "") {
    const c = client(server().env());
    return new Promise<{ err: ServiceError | null; res?: ListCertificatesResponse }>((resolve) =>
      c.listCertificates(
        ListCertificatesRequest.fromPartial({ certificateProfile: PROFILE, pageSize, pageToken }),
        new Metadata(),
        { deadline: Date.now() + 60_000 },
        (err, res) => {
          c.close();
          resolve({ err, res });
        },
      ),
    );
  }

  it("the control: a page of 100 in the default view is answered, with PEMs and chain", async () => {
    const { err, res } = await page(100);
    expect(err).toBeNull();
    expect(res!.certificates).toHaveLength(100);
    expect(res!.certificates[0]!.certificateChainPem).toHaveLength(2);
    const bytes = ListCertificatesResponse.encode(res!).finish().length;
    // Over 4 KiB a row: 1,000 rows would be past a client's 4 MiB.
    expect(bytes / 100).toBeGreaterThan(4096);
  });

  it("pages of 1,000 (the API's largest) stay under 4 MiB and, followed by their tokens, list every certificate once", async () => {
    const ids = new Set<string>();
    let token = "";
    let pages = 0;
    do {
      const { err, res } = await page(1000, token);
      expect(err ? `${status[err.code]}: ${err.details}` : null).toBeNull();
      expect(ListCertificatesResponse.encode(res!).finish().length).toBeLessThan(4 * 1024 * 1024);
      for (const c of res!.certificates) ids.add(c.id);
      token = res!.nextPageToken;
      pages++;
    } while (token && pages < 10);
    expect(ids.size).toBe(CERTIFICATES);
    expect(pages).toBeGreaterThan(1);
  });

  it("the CLI's `cert list --all --output json` lists every certificate", async () => {
    const s = server();
    const tokenFile = join(s.live.server.dataDir, "admin-token");
    const r = await runCli(
      [
        "cert",
        "list",
        "--profile",
        PROFILE,
        "--all",
        "--output",
        "json",
        "--server",
        s.address,
        "--ca-file",
        s.caFile,
        "--token-file",
        tokenFile,
      ],
      {},
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const items = JSON.parse(r.stdout) as unknown[] | { certificates?: unknown[] };
    expect(Array.isArray(items) ? items.length : items.certificates?.length).toBe(CERTIFICATES);
  }, 60_000);
});
