/**
 * The OCSP responder (RFC 6960) against the in-memory store (memory-store.ts): the statuses it
 * reads through the repositories (leaves and child CAs the CA signed, by serial), its cache
 * dropped at a revocation, and a delegated responder's certificate recorded before it signs.
 * `openssl ocsp` verifies each response; test/ocsp/ runs the same over HTTP on PostgreSQL.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { createRootCa } from "../../src/issuance/ca/create";
import { CaKeyring } from "../../src/issuance/ca/keyring";
import { type OcspDeps, OcspResponder } from "../../src/issuance/ca/ocsp";
import type { Call } from "../../src/issuance/call";
import type { Certificate, CertificateAuthority } from "../../src/issuance/repositories";
import { generateKeyPair } from "../../src/signer";
import { openssl, opensslOk, TempDir } from "../support/openssl";
import { MemoryStore } from "./memory-store";

const NOW = new Date();
const call: Call = {
  actor: { id: randomUUID(), slug: "admin", role: "ADMIN", profileIds: [] },
  method: "/certmint.v1.CertificateAuthorityService/CreateRootCertificateAuthority",
  traceId: "trace",
  peer: "test",
};
const tmp = new TempDir();
afterAll(() => tmp.remove());

describe("OCSP responder on the in-memory store", () => {
  let memory: MemoryStore;
  let deps: OcspDeps;
  let ca: CertificateAuthority;
  let caFile: string;

  /** A row with what the responder reads of it (CA id, serial, revocation). */
  const leaf = (serialNumber: string, revoked = false) => {
    const id = randomUUID();
    memory.certificates.set(id, {
      id,
      caId: ca.id,
      serialNumber,
      revokedAt: revoked ? NOW : null,
      revocationReason: revoked ? "KEY_COMPROMISE" : null,
    } as Certificate);
    return id;
  };

  /** The statuses `openssl ocsp` reads from the response, after verifying it with the CA. */
  const ask = async (responder: OcspResponder, serials: string[]) => {
    const request = tmp.out("req.der");
    const args = ["-issuer", caFile, ...serials.flatMap((s) => ["-serial", `0x${s}`])];
    opensslOk(["ocsp", ...args, "-no_nonce", "-reqout", request]);
    const answer = await responder.respond(readFileSync(request));
    const response = tmp.file("resp.der", answer.der);
    const checked = openssl(["ocsp", ...args, "-respin", response, "-CAfile", caFile]);
    expect(checked.code, checked.stderr).toBe(0);
    expect(checked.stderr).toContain("Response verify OK");
    return { answer, out: checked.stdout };
  };

  beforeEach(async () => {
    memory = new MemoryStore();
    const keyring = new CaKeyring(randomBytes(32));
    const created = await createRootCa(
      {
        store: memory.store,
        keyring,
        keys: { generate: (alg) => generateKeyPair(alg) },
        now: () => NOW,
      },
      call,
      {
        slug: "unit-root",
        description: "",
        subject: { attributes: [{ type: "COMMON_NAME", value: "Unit Root" }] },
      },
    );
    ca = memory.cas.get(created.id)!;
    caFile = tmp.file("ca.pem", ca.certificatePem!);
    deps = { store: memory.store, keyring, now: () => new Date() };
  });

  it("answers good, revoked (with its reason) and unknown, for leaves and child CAs", async () => {
    leaf("0a01");
    leaf("0a02", true);
    // A CA the root signed: what the responder reads of it (its certificate is not needed).
    const child: CertificateAuthority = {
      ...structuredClone(ca),
      id: randomUUID(),
      slug: "child",
      certificatePem: null,
      parentId: ca.id,
      serialNumber: "0a03",
      revokedAt: NOW,
      revocationReason: "CA_COMPROMISE",
    };
    memory.cas.set(child.id, child);
    const responder = new OcspResponder(deps, { cacheSeconds: 60, validitySeconds: 3600 });
    const { answer, out } = await ask(responder, ["0a01", "0a02", "0a03", "0a04"]);
    expect(answer.status).toBe("good");
    expect(out).toMatch(/0x0a01: good/);
    expect(out).toMatch(/0x0a02: revoked[\s\S]*?Reason: keyCompromise/);
    expect(out).toMatch(/0x0a03: revoked[\s\S]*?Reason: cACompromise/);
    expect(out).toMatch(/0x0a04: unknown/);
  });

  it("drops its cached response when told of a revocation", async () => {
    const id = leaf("0b01");
    const responder = new OcspResponder(deps, { cacheSeconds: 3600, validitySeconds: 3600 });
    const first = await ask(responder, ["0b01"]);
    expect(first.out).toMatch(/0x0b01: good/);
    // Cached: the same signed bytes again.
    expect((await ask(responder, ["0b01"])).answer.der).toEqual(first.answer.der);
    Object.assign(memory.certificates.get(id)!, { revokedAt: NOW, revocationReason: "SUPERSEDED" });
    responder.forget(ca.id);
    expect((await ask(responder, ["0b01"])).out).toMatch(/0x0b01: revoked[\s\S]*?superseded/);
  });

  it("signs again once the wall clock is past a cached response's nextUpdate (a clock stepped forward)", async () => {
    leaf("0d01");
    // The server's wall clock, moved by the test; the cache period runs on the monotonic clock.
    let offsetMs = 0;
    const stepped = { ...deps, now: () => new Date(Date.now() + offsetMs) };
    const responder = new OcspResponder(stepped, { cacheSeconds: 3600, validitySeconds: 600 });
    const first = await ask(responder, ["0d01"]);
    expect(first.out).toMatch(/0x0d01: good/);
    const requestFile = tmp.out("req.der");
    opensslOk([
      "ocsp",
      "-issuer",
      caFile,
      "-serial",
      "0x0d01",
      "-no_nonce",
      "-reqout",
      requestFile,
    ]);
    const request = readFileSync(requestFile);
    // Within the period and before nextUpdate: the cached response.
    expect((await responder.respond(request)).der).toEqual(first.answer.der);
    // NTP steps the clock forward by an hour: the cached response's nextUpdate (10 minutes
    // after it was signed) is past, and clients would refuse it as expired.
    offsetMs = 3_600_000;
    const next = await responder.respond(request);
    expect(next.der).not.toEqual(first.answer.der);
    expect(next.cacheUntil!.getTime()).toBeGreaterThan(stepped.now().getTime());
    // A CERTMINT_OCSP_CACHE_SECONDS longer than the validity is bounded the same way.
    expect((await responder.respond(request)).der).toEqual(next.der);
  });

  it("a delegated responder is replaced once half its lifetime has passed by the wall clock (a clock stepped forward, a host resumed)", async () => {
    leaf("0e01");
    let offsetMs = 0;
    const stepped = { ...deps, now: () => new Date(Date.now() + offsetMs) };
    const responder = new OcspResponder(stepped, {
      cacheSeconds: 0,
      validitySeconds: 3600,
      delegated: true,
    });
    const requestFile = tmp.out("req.der");
    opensslOk([
      "ocsp",
      "-issuer",
      caFile,
      "-serial",
      "0x0e01",
      "-no_nonce",
      "-reqout",
      requestFile,
    ]);
    const request = readFileSync(requestFile);
    await responder.respond(request);
    await responder.respond(request);
    expect(memory.ocspResponders.size).toBe(1);
    // Four days later by the wall clock (of a week's lifetime), not by the monotonic one.
    offsetMs = 4 * 86_400_000;
    const answer = await responder.respond(request);
    expect(memory.ocspResponders.size).toBe(2);
    const newest = [...memory.ocspResponders.values()].at(-1)!;
    expect(newest.notAfter.getTime()).toBeGreaterThan(stepped.now().getTime());
    expect(answer.cacheUntil!.getTime()).toBeGreaterThan(stepped.now().getTime());
  });

  it("a delegated responder's certificate is recorded, then signs the responses", async () => {
    leaf("0c01");
    const responder = new OcspResponder(deps, {
      cacheSeconds: 0,
      validitySeconds: 3600,
      delegated: true,
    });
    const { out } = await ask(responder, ["0c01"]);
    expect(out).toMatch(/0x0c01: good/);
    const rows = [...memory.ocspResponders.values()];
    expect(rows).toHaveLength(1);
    expect(rows[0]!.caId).toBe(ca.id);
    const text = opensslOk(
      ["x509", "-noout", "-serial", "-ext", "extendedKeyUsage"],
      rows[0]!.certificatePem!,
    );
    expect(text.toLowerCase()).toContain(`serial=${rows[0]!.serialNumber}`);
    expect(text).toContain("OCSP Signing");
  });
});
