/**
 * Stop-52 outside probe: server-driven renewal and its watch on the embedded default (`make run`:
 * no DATABASE_URL, PGlite polled every CERTMINT_WATCH_POLL_MS instead of NOTIFY), then a
 * restart after many issuances and revocations: the same certificates, the same revoked set,
 * CRL numbers that keep growing, the renewed lineage, and a watch resumed from its last cursor
 * across the restart that gets what happened since and nothing twice.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UpdateCertificateProfileRequest } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import {
  CertificateEventType,
  CertificateView,
  IssueCertificateRequest,
  type IssueCertificateResponse,
  ListCertificatesRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../../gen/ts/certmint/v1/common";
import {
  closeClients,
  createRootProfile,
  generatedKeyRequest,
  startEmbedded,
} from "../../probe49/emb/support";
import { type CertmintClients, call, makeClients } from "../../support/harness";
import { openssl, TempDir } from "../../support/openssl";
import { type ServerProcess, START_LIMIT_MS } from "../../support/server-process";
import { waitFor } from "../../support/wait";
import { WatchStream } from "../../support/watch-stream";
import { inBatches, Role, tokenOf } from "./support";

const RENEWED = CertificateEventType.CERTIFICATE_EVENT_TYPE_RENEWED;
const ISSUED_EVENT = CertificateEventType.CERTIFICATE_EVENT_TYPE_ISSUED;
const REVOKED_EVENT = CertificateEventType.CERTIFICATE_EVENT_TYPE_REVOKED;
const MANY = 200;
const REVOKE = 60;
const seconds = (n: number) => ({ seconds: String(n), nanos: 0 });

describe("probe52 EMBEDDED: server-driven renewal, watches and a restart after many issuances", {
  timeout: 3 * START_LIMIT_MS,
}, () => {
  const base = mkdtempSync(join(tmpdir(), "certmint-probe52-renew-"));
  const dataDir = join(base, "data");
  const tmp = new TempDir();
  let server: ServerProcess;
  let admin: CertmintClients;
  let owner: CertmintClients;
  let ownerSecret = "";
  let first: IssueCertificateResponse;
  let successorId = "";
  let lastCursor = "";
  let before: { ids: string[]; revoked: string[]; crlNumber: bigint };

  /** Every certificate of profile "web" (BASIC view), walked page by page. */
  async function allCertificates(c: CertmintClients) {
    const out: Array<{ id: string; status: number; serialNumber: string }> = [];
    let pageToken = "";
    do {
      const page = await call(
        c.certificates,
        "listCertificates",
        ListCertificatesRequest.fromPartial({
          certificateProfile: "web",
          view: CertificateView.CERTIFICATE_VIEW_BASIC,
          pageSize: 1000,
          pageToken,
        }),
      );
      out.push(...page.certificates);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return out;
  }

  /** The CRL of "root", and the serials it lists (openssl). */
  async function crlOf(c: CertmintClients) {
    const crl = await call(c.authorities, "getCertificateRevocationList", {
      certificateAuthority: "root",
      encoding: 0,
      knownCrlNumber: "",
    });
    const file = tmp.file("root.crl.pem", crl.crlPem);
    const text = openssl(["crl", "-in", file, "-noout", "-text"]).stdout;
    const serials = [...text.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) =>
      m[1]!.toLowerCase().replace(/^0+/, ""),
    );
    return { number: BigInt(crl.crlNumber), serials };
  }

  /** Profile "web": its defaults.ttl of 3600 s, renewed 300 s before the end, automatically or not. */
  const setRenewal = (autoRenew: boolean, paths: string[]) =>
    call(
      admin.profiles,
      "updateCertificateProfile",
      UpdateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "web",
          defaults: { ttl: seconds(3600) },
          renewal: { autoRenew, renewBefore: seconds(300) },
        },
        updateMask: paths,
      }),
    );

  beforeAll(async () => {
    server = await startEmbedded(dataDir);
    admin = makeClients(server.address, server.adminToken());
    await createRootProfile(admin, "Renewal Root");
    // Renewed by the server 300 s before their end: a certificate of 200 s is due at once, once
    // automatic renewal is switched on (after the watch holds its CURRENT event).
    await setRenewal(false, ["defaults.ttl", "renewal.renew_before"]);
    const token = await tokenOf(server, admin, "owner", Role.ROLE_ISSUER, ["web"]);
    owner = token.c;
    ownerSecret = token.secret;
  }, START_LIMIT_MS);

  afterAll(async () => {
    closeClients(admin);
    closeClients(owner);
    await server?.stop("SIGKILL");
    tmp.remove();
    rmSync(base, { recursive: true, force: true });
  });

  it("renews a due certificate by itself; the owner's watch gets RENEWED with the new key, which matches the successor", async () => {
    first = await call(
      owner.certificates,
      "issueCertificate",
      IssueCertificateRequest.fromPartial({
        ...generatedKeyRequest("web", "renew-me", "renew-me.example.com"),
        ttl: seconds(200),
      }),
    );
    const watch = new WatchStream(owner, {
      scope: { $case: "certificateId", value: first.certificate!.certificateId },
    });
    await waitFor("the watch's first event", () => watch.events.length > 0);
    await setRenewal(true, ["renewal.auto_renew"]);
    await waitFor(
      "a RENEWED event",
      () => watch.of(RENEWED).length > 0 || watch.error !== undefined,
    );
    expect(watch.error).toBeUndefined();
    const renewed = watch.of(RENEWED)[0]!;
    expect(renewed.previousCertificateId).toBe(first.certificate!.certificateId);
    successorId = renewed.certificate!.id;
    const cert = new X509Certificate(renewed.certificate!.certificatePem);
    expect(cert.subjectAltName).toBe("DNS:renew-me.example.com");
    expect(renewed.privateKeyPem).toContain("PRIVATE KEY");
    expect(cert.checkPrivateKey(createPrivateKey(renewed.privateKeyPem))).toBe(true);
    watch.cancel();
    // Switched off again: the rest of the file issues certificates due at once.
    await setRenewal(false, ["renewal.auto_renew"]);
  });

  it(`issues ${MANY} certificates and revokes ${REVOKE} with a profile watch open; the watch saw each once, in order`, async () => {
    const watch = new WatchStream(owner, { scope: { $case: "certificateProfile", value: "web" } });
    await waitFor("the profile watch to open", () => watch.open);
    const issued = await inBatches(
      Array.from({ length: MANY }, (_, i) => i),
      8,
      (i) =>
        call(
          owner.certificates,
          "issueCertificate",
          generatedKeyRequest("web", `many-${i}`, `m-${i}.example.com`),
        ),
    );
    const revoked = issued.slice(0, REVOKE).map((r) => r.certificate!.certificateId);
    await inBatches(revoked, 8, (id) =>
      call(admin.certificates, "revokeCertificate", {
        certificate: id,
        reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
      }),
    );
    await waitFor(
      "the watch to see every issuance and revocation",
      () => watch.of(ISSUED_EVENT).length >= MANY && watch.of(REVOKED_EVENT).length >= REVOKE,
    );
    expect(watch.error).toBeUndefined();
    const cursors = watch.eventCursors();
    expect(cursors).toEqual([...cursors].sort((a, b) => a - b));
    expect(new Set(cursors).size).toBe(cursors.length);
    expect(watch.of(ISSUED_EVENT)).toHaveLength(MANY);
    expect(watch.of(REVOKED_EVENT)).toHaveLength(REVOKE);
    lastCursor = watch.events.at(-1)!.cursor;
    watch.cancel();

    const all = await allCertificates(admin);
    const crl = await crlOf(admin);
    const revokedSerials = all
      .filter((c) => revoked.includes(c.id))
      .map((c) => c.serialNumber.toLowerCase().replace(/^0+/, ""));
    expect(crl.serials.sort()).toEqual(expect.arrayContaining(revokedSerials));
    before = {
      ids: all.map((c) => c.id).sort(),
      revoked: revokedSerials.sort(),
      crlNumber: crl.number,
    };
    expect(before.ids).toHaveLength(MANY + 2);
  });

  it("after a SIGTERM (exit 0) and a start on the same data directory: the same certificates, the same revocations, a higher CRL number, the renewed lineage, and a watch resumed across the restart", async () => {
    closeClients(admin);
    closeClients(owner);
    expect(await server.stop("SIGTERM")).toBe(0);
    server = await startEmbedded(dataDir);
    admin = makeClients(server.address, server.adminToken());
    owner = makeClients(server.address, ownerSecret);

    const all = await allCertificates(admin);
    expect(all.map((c) => c.id).sort()).toEqual(before.ids);
    const crl = await crlOf(admin);
    expect(crl.number).toBeGreaterThan(before.crlNumber);
    expect(crl.serials.sort()).toEqual(expect.arrayContaining(before.revoked));
    expect(crl.serials).toHaveLength(before.revoked.length);
    const current = await call(owner.certificates, "getCurrentCertificate", {
      certificate: first.certificate!.certificateId,
    });
    expect(current.certificate!.id).toBe(successorId);

    // Resumed from the last cursor of before the restart: only what happened since.
    const resumed = new WatchStream(owner, {
      scope: { $case: "certificateProfile", value: "web" },
      afterCursor: lastCursor,
    });
    await waitFor("the resumed watch to open", () => resumed.open || resumed.error !== undefined);
    expect(resumed.error).toBeUndefined();
    const after = await call(
      owner.certificates,
      "issueCertificate",
      generatedKeyRequest("web", "after-restart", "after-restart.example.com"),
    );
    await waitFor("the resumed watch's event of the new certificate", () =>
      resumed.events.some((e) => e.certificate?.id === after.certificate!.certificateId),
    );
    const seen = resumed.seen();
    expect(seen).toEqual([[ISSUED_EVENT, after.certificate!.certificateId]]);
    expect(Number(resumed.eventCursors()[0])).toBeGreaterThan(Number(lastCursor));
    resumed.cancel();
    const again = await call(admin.certificates, "getCertificate", {
      certificate: after.certificate!.certificateId,
    });
    expect(again.certificate!.id).toBe(after.certificate!.certificateId);
    expect(status.OK).toBe(0);
  });
});
