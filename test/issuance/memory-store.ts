import type {
  AuditRecord,
  CaNamesUnder,
  Certificate,
  CertificateAuthority,
  CertificatePolicy,
  CertificateProfile,
  CertificateRequest,
  IssuanceRows,
  IssuanceStored,
  LockedRequest,
  OcspResponderCertificate,
  Repositories,
  RowKey,
  SerialStatus,
  SignedIssuance,
  Store,
} from "../../src/issuance/repositories";
import { UniqueConflict } from "../../src/issuance/repositories";

/**
 * The store of src/issuance/repositories in memory, for unit tests of the use cases without a
 * database: the repository methods the issuance flow, approval and the queries use, with the
 * same contracts as src/store/repositories (a unique (caller, idempotency key) and (CA, serial),
 * storeIssuance's all or nothing, the PENDING guard of storeIssued and markFailed, a request lock whose writes apply only if its section
 * returns), and a lineage's successors. Any other method throws (the renewer's leases and the
 * event feed among them: their tests run on PostgreSQL, test/renewal/), so a use case that
 * starts needing one fails loudly here.
 */
export class MemoryStore {
  readonly cas = new Map<string, CertificateAuthority>();
  readonly policies = new Map<string, CertificatePolicy>();
  readonly profiles = new Map<string, CertificateProfile>();
  readonly requests = new Map<string, CertificateRequest>();
  readonly certificates = new Map<string, Certificate>();
  /** blocked_key: SubjectPublicKeyInfo SHA-256s revoked for key compromise. */
  readonly blockedKeys = new Set<string>();
  readonly audit: AuditRecord[] = [];
  readonly ocspResponders = new Map<
    string,
    OcspResponderCertificate & { certificatePem: string | null }
  >();
  private readonly locked = new Set<string>();

  /** The store as the use cases take it. */
  get store(): Store {
    const repositories = this.repositories();
    return { ...repositories, transaction: (fn) => fn(repositories) };
  }

  /** Copies, so a test's later reads are not the objects the use case holds. */
  private copy = <T>(value: T | undefined): T | null =>
    value === undefined ? null : structuredClone(value);

  private byKey<T extends { id: string; slug: string }>(rows: Map<string, T>, key: RowKey) {
    const found =
      "id" in key ? rows.get(key.id) : [...rows.values()].find((r) => r.slug === key.slug);
    return this.copy(found);
  }

  private priorOf(caller: string, idempotencyKey: string): CertificateRequest | undefined {
    return [...this.requests.values()].find(
      (r) => r.caller === caller && r.idempotencyKey === idempotencyKey,
    );
  }

  private markFailedNow(id: string, error: CertificateRequest["error"], now: Date): boolean {
    const request = this.requests.get(id);
    if (request?.status !== "PENDING") return false;
    Object.assign(request, { status: "FAILED", error, updatedAt: now });
    return true;
  }

  /** Each row's revocation status, of the rows with one of these serials. */
  private statusesOf(
    rows: Iterable<{ serialNumber: string | null } & Omit<SerialStatus, "serialNumber">>,
    serials: readonly string[],
  ): SerialStatus[] {
    return [...rows]
      .filter((r) => r.serialNumber !== null && serials.includes(r.serialNumber))
      .map((r) => ({
        serialNumber: r.serialNumber!,
        revokedAt: r.revokedAt,
        revocationReason: r.revocationReason,
        ...(r.invalidityDate ? { invalidityDate: r.invalidityDate } : {}),
      }));
  }

  /** A certificate and its successors by renewedById, oldest first (as a cycle guard, each once). */
  private lineageFrom(id: string): string[] {
    const line: string[] = [];
    for (let cert = this.certificates.get(id); cert && !line.includes(cert.id); ) {
      line.push(cert.id);
      cert = cert.renewedById ? this.certificates.get(cert.renewedById) : undefined;
    }
    return line;
  }

  /** The names a CA certifies (the store's CaNamesUnder): CAs below it, CA certificates it signed. */
  private caNamesUnder(issuerId: string): CaNamesUnder {
    return {
      cas: [...this.cas.values()]
        .filter((ca) => ca.parentId === issuerId)
        .map((ca) => ({ slug: ca.slug, subject: structuredClone(ca.subject) })),
      certificates: [...this.certificates.values()]
        .filter((c) => c.caId === issuerId && c.isCa)
        .map((c) => ({ id: c.id, subject: structuredClone(c.subject), spkiSha256: c.spkiSha256 })),
    };
  }

  private repositories(): Repositories {
    const partial = {
      cas: {
        find: async (key: RowKey) => this.byKey(this.cas, key),
        findBySerial: async (serial: string) =>
          this.copy([...this.cas.values()].find((ca) => ca.serialNumber === serial)),
        slugTaken: async (slug: string) => [...this.cas.values()].some((ca) => ca.slug === slug),
        siblingSubjects: async (parentId: string | null) =>
          [...this.cas.values()]
            .filter((ca) =>
              parentId === null
                ? ca.parentId === null && ca.type === "ROOT"
                : ca.parentId === parentId,
            )
            .map((ca) => ({ slug: ca.slug, subject: structuredClone(ca.subject) })),
        insert: async (ca: CertificateAuthority) => {
          if ([...this.cas.values()].some((c) => c.slug === ca.slug)) {
            throw new UniqueConflict("slug");
          }
          this.cas.set(ca.id, structuredClone(ca));
        },
        revocationCount: async (id: string) => this.cas.get(id)?.revocationCount ?? null,
        withCertificates: async () =>
          [...this.cas.values()]
            .filter((ca) => ca.certificatePem !== null)
            .map(({ id, certificatePem, chainPem, revokedAt }) =>
              structuredClone({ id, certificatePem, chainPem, revokedAt }),
            ),
        childStatuses: async (id: string, serials: readonly string[]) =>
          this.statusesOf(
            [...this.cas.values()].filter((ca) => ca.parentId === id),
            serials,
          ),
      },
      policies: { find: async (key: RowKey) => this.byKey(this.policies, key) },
      profiles: { find: async (key: RowKey) => this.byKey(this.profiles, key) },
      certificates: {
        findById: async (id: string) => this.copy(this.certificates.get(id)),
        findByIds: async (ids: readonly string[]) =>
          [...new Set(ids)].flatMap((id) => this.copy(this.certificates.get(id)) ?? []),
        lineageFrom: async (id: string) => this.lineageFrom(id),
        newestSuccessorOf: async (id: string) => this.lineageFrom(id).at(-1) ?? id,
        isKeyBlocked: async (spkiSha256: string) => this.blockedKeys.has(spkiSha256),
        blockKey: async (spkiSha256: string) => {
          this.blockedKeys.add(spkiSha256);
          return [...this.certificates.values()]
            .filter((c) => c.spkiSha256 === spkiSha256 && !c.revokedAt)
            .map((c) => structuredClone(c));
        },
        lockRevocation: async () => undefined,
        markRevoked: async (
          id: string,
          reason: Certificate["revocationReason"],
          now: Date,
          invalidityDate: Date | null = null,
        ) => {
          const cert = this.certificates.get(id);
          if (!cert || cert.revokedAt) return false;
          Object.assign(cert, { revokedAt: now, revocationReason: reason, invalidityDate });
          return true;
        },
        forgetPrivateKeys: async (ids: readonly string[]) => {
          for (const id of ids) {
            const cert = this.certificates.get(id);
            if (!cert) continue;
            cert.sealedPrivateKey = null;
            const request = this.requests.get(cert.certificateRequestId);
            if (request) {
              request.sealedPrivateKey = null;
              request.keyHeldUntil = null;
            }
          }
        },
        finishHold: async (
          id: string,
          reason: Certificate["revocationReason"],
          invalidityDate: Date | null = null,
        ) => {
          const cert = this.certificates.get(id);
          if (!cert?.revokedAt || cert.revocationReason !== "CERTIFICATE_HOLD") return false;
          cert.revocationReason = reason;
          cert.invalidityDate = invalidityDate;
          return true;
        },
        markKeyCompromised: async (id: string, invalidityDate: Date | null = null) => {
          const cert = this.certificates.get(id);
          if (!cert?.revokedAt || cert.revocationReason === "KEY_COMPROMISE") return false;
          cert.revocationReason = "KEY_COMPROMISE";
          if (invalidityDate) cert.invalidityDate = invalidityDate;
          return true;
        },
        backdateInvalidity: async (id: string, invalidityDate: Date) => {
          const cert = this.certificates.get(id);
          if (!cert?.revokedAt || cert.revocationReason !== "KEY_COMPROMISE") return false;
          if (cert.invalidityDate && cert.invalidityDate <= invalidityDate) return false;
          cert.invalidityDate = invalidityDate;
          return true;
        },
        findBySerial: async (serial: string, limit: number) =>
          [...this.certificates.values()]
            .filter((c) => c.serialNumber === serial)
            .slice(0, limit)
            .map((c) => structuredClone(c)),
        statusesIssuedBy: async (caId: string, serials: readonly string[]) =>
          this.statusesOf(
            [...this.certificates.values()].filter((c) => c.caId === caId),
            serials,
          ),
      },
      ocspResponders: {
        recordIntent: async (responder: OcspResponderCertificate) => {
          const taken = [...this.ocspResponders.values()].some(
            (r) => r.caId === responder.caId && r.serialNumber === responder.serialNumber,
          );
          if (taken) throw new Error("MemoryStore: duplicate responder serial for this CA");
          this.ocspResponders.set(responder.id, {
            ...structuredClone(responder),
            certificatePem: null,
          });
        },
        storeCertificate: async (id: string, certificatePem: string) => {
          const responder = this.ocspResponders.get(id);
          if (responder) responder.certificatePem = certificatePem;
        },
      },
      requests: {
        findById: async (id: string) => this.copy(this.requests.get(id)),
        findByIds: async (ids: readonly string[]) =>
          [...new Set(ids)].flatMap((id) => this.copy(this.requests.get(id)) ?? []),
        findByIdempotencyKey: async (caller: string, key: string) =>
          this.copy(this.priorOf(caller, key)),
        claimForSigning: async (
          id: string,
          reservedSerial: string,
          now: Date,
          approver: string,
        ) => {
          const request = this.requests.get(id);
          if (request?.status !== "PENDING_APPROVAL") return false;
          Object.assign(request, {
            status: "PENDING",
            reservedSerial,
            updatedAt: now,
            claimedBy: approver,
          });
          return true;
        },
        reject: async (id: string, error: CertificateRequest["error"], now: Date) => {
          const request = this.requests.get(id);
          if (request?.status !== "PENDING_APPROVAL") return false;
          Object.assign(request, { status: "REJECTED", error, updatedAt: now });
          return true;
        },
        handOutApprovedKey: async (id: string, until: Date | null, now: Date) => {
          const request = this.requests.get(id);
          if (!request?.sealedPrivateKey) return undefined;
          const sealed = request.sealedPrivateKey;
          if (until === null) {
            if (request.keyHeldUntil) return undefined;
            request.sealedPrivateKey = null;
            return sealed;
          }
          if (request.keyHeldUntil && request.keyHeldUntil <= now) return undefined;
          request.keyHeldUntil ??= until;
          return sealed;
        },
      },
      audit: {
        insert: async (record: AuditRecord) => {
          this.audit.push(structuredClone(record));
        },
        // Only the filters the use cases pass (approval.ts), newest first.
        listNewestFirst: async (
          f: { actorId?: string; method?: string; resourceType?: string; resourceId?: string },
          page: { limit: number },
        ) =>
          this.audit
            .filter(
              (r) =>
                (f.actorId === undefined || r.actorId === f.actorId) &&
                (f.method === undefined || r.method === f.method) &&
                (f.resourceType === undefined || r.resourceType === f.resourceType) &&
                (f.resourceId === undefined || r.resourceId === f.resourceId),
            )
            .reverse()
            .slice(0, page.limit)
            .map((r) => structuredClone(r)),
      },
      issuance: {
        findProfileAndPrior: async (
          key: RowKey,
          prior?: { caller: string; idempotencyKey: string },
        ): Promise<IssuanceRows> => {
          const profile = this.byKey(this.profiles, key);
          const policy = profile && this.copy(this.policies.get(profile.policyId));
          return {
            priorRequestId: prior
              ? (this.priorOf(prior.caller, prior.idempotencyKey)?.id ?? null)
              : null,
            profile,
            policy: policy && {
              id: policy.id,
              slug: policy.slug,
              version: policy.version,
              spec: policy.spec,
            },
            ca: profile?.caId ? this.copy(this.cas.get(profile.caId)) : null,
          };
        },
        recordRequest: async (request: CertificateRequest, audit?: AuditRecord) => {
          if (request.idempotencyKey && this.priorOf(request.caller, request.idempotencyKey)) {
            return false;
          }
          this.requests.set(request.id, structuredClone(request));
          if (audit) this.audit.push(structuredClone(audit));
          return true;
        },
        recordWaitingRequest: async (
          request: CertificateRequest,
          audit: AuditRecord,
          cap: number | undefined,
        ) => {
          if (!this.profiles.has(request.profileId)) return "profile-gone" as const;
          const waiting = [...this.requests.values()].filter(
            (r) => r.caller === request.caller && r.status === "PENDING_APPROVAL",
          ).length;
          const otherRenewal = [...this.requests.values()].find(
            (r) =>
              request.renewalOfCertificateId &&
              r.renewalOfCertificateId === request.renewalOfCertificateId &&
              r.status === "PENDING_APPROVAL" &&
              !(r.caller === request.caller && r.idempotencyKey === request.idempotencyKey),
          );
          if (otherRenewal) return { renewalWaiting: otherRenewal.id };
          if (cap !== undefined && waiting >= cap) return { waiting };
          if (request.idempotencyKey && this.priorOf(request.caller, request.idempotencyKey)) {
            return false;
          }
          this.requests.set(request.id, structuredClone(request));
          this.audit.push(structuredClone(audit));
          return true;
        },
        storeIssuance: async ({
          request,
          certificate,
          audit,
        }: SignedIssuance): Promise<IssuanceStored> => {
          const renewed = certificate.renewedFromId
            ? this.certificates.get(certificate.renewedFromId)
            : undefined;
          if (certificate.renewedFromId && (!renewed || renewed.renewedById || renewed.revokedAt)) {
            return "renewed-meanwhile";
          }
          if (request.idempotencyKey && this.priorOf(request.caller, request.idempotencyKey)) {
            return "duplicate";
          }
          const taken = [...this.certificates.values()].some(
            (c) => c.caId === certificate.caId && c.serialNumber === certificate.serialNumber,
          );
          if (taken) return "serial-taken";
          if (certificate.spkiSha256 && this.blockedKeys.has(certificate.spkiSha256)) {
            return "key-blocked";
          }
          if (renewed) renewed.renewedById = certificate.id;
          this.requests.set(request.id, structuredClone(request));
          this.certificates.set(certificate.id, structuredClone(certificate));
          this.audit.push(structuredClone(audit));
          return "stored";
        },
        storeCaIssuance: async (
          issuance: SignedIssuance,
          caNamesOf: string,
          check: (now: { names: CaNamesUnder }) => void,
        ): Promise<IssuanceStored> => {
          check({ names: this.caNamesUnder(caNamesOf) });
          return this.repositories().issuance.storeIssuance(issuance);
        },
        markFailed: async (
          failure: { id: string; error: CertificateRequest["error"]; updatedAt: Date },
          audit: AuditRecord,
        ) => {
          const failed = this.markFailedNow(failure.id, failure.error, failure.updatedAt);
          if (failed) this.audit.push(structuredClone(audit));
          return failed;
        },
        withRequestLock: async <T>(
          id: string,
          _waitMs: number,
          fn: (locked: LockedRequest) => Promise<T>,
        ): Promise<T | "busy"> => {
          if (this.locked.has(id)) return "busy";
          this.locked.add(id);
          // The section's writes, applied when it returns (a transaction that commits).
          const writes: Array<() => void> = [];
          const pending = () => this.requests.get(id)?.status === "PENDING";
          try {
            const value = await fn({
              status: this.requests.get(id)?.status ?? null,
              keyBlocked: async (spkiSha256) => this.blockedKeys.has(spkiSha256),
              caNames: async (issuerId) => this.caNamesUnder(issuerId),
              issuerNow: async (caId) => {
                const ca = this.cas.get(caId);
                return ca ? { status: ca.status, revokedAt: ca.revokedAt } : null;
              },
              storeIssued: async (certificate, request, audit) => {
                if (!pending()) return false;
                writes.push(() => {
                  this.certificates.set(certificate.id, structuredClone(certificate));
                  Object.assign(this.requests.get(request.id)!, {
                    status: "ISSUED",
                    certificateId: certificate.id,
                    updatedAt: request.updatedAt,
                    sealedPrivateKey: request.sealedPrivateKey,
                    keyHeldUntil: request.keyHeldUntil,
                  });
                  this.audit.push(structuredClone(audit));
                });
                return true;
              },
              linkRenewal: async (renewedId, successorId) => {
                const renewed = this.certificates.get(renewedId);
                if (!renewed || renewed.renewedById || renewed.revokedAt) return false;
                writes.push(() => {
                  renewed.renewedById = successorId;
                });
                return true;
              },
              renewedNow: async (certificateId) => {
                const c = this.certificates.get(certificateId);
                return c ? { revokedAt: c.revokedAt, renewedById: c.renewedById } : null;
              },
              markFailed: async (failure, audit) => {
                if (!pending()) return false;
                writes.push(() => {
                  this.markFailedNow(failure.id, failure.error, failure.updatedAt);
                  this.audit.push(structuredClone(audit));
                });
                return true;
              },
              // No token or ACME account in memory (tokens.find answers null): nobody revoked.
              requesterNow: async () => null,
              profileNow: async (profileId) => {
                const profile = this.profiles.get(profileId);
                return profile
                  ? {
                      slug: profile.slug,
                      enrollmentMethod: profile.enrollmentMethod,
                      caId: profile.caId,
                      allowSelfApproval: profile.allowSelfApproval,
                      version: profile.version,
                      policyId: profile.policyId,
                    }
                  : null;
              },
              policyVersionNow: async (policyId) => this.policies.get(policyId)?.version ?? null,
              caNow: async (caId) => {
                const ca = this.cas.get(caId);
                return ca ? structuredClone(ca) : null;
              },
              revokedAbove: async (caId) => {
                for (let ca = this.cas.get(caId), depth = 0; ca && depth < 32; depth++) {
                  if (ca.revokedAt) {
                    return {
                      slug: ca.slug,
                      revokedAt: ca.revokedAt,
                      revocationReason: ca.revocationReason ?? null,
                    };
                  }
                  ca = ca.parentId ? this.cas.get(ca.parentId) : undefined;
                }
                return null;
              },
              backToApproval: async (requestId, updatedAt) => {
                if (!pending()) return false;
                writes.push(() => {
                  Object.assign(this.requests.get(requestId)!, {
                    status: "PENDING_APPROVAL",
                    reservedSerial: null,
                    updatedAt,
                  });
                });
                return true;
              },
            });
            for (const write of writes) write();
            return value;
          } finally {
            this.locked.delete(id);
          }
        },
      },
    };
    // Who a request's or certificate's owner is (approval and renewal check that the owner may
    // still be served): no token or ACME account is revoked in memory.
    Object.assign(partial, {
      // The admin set that revocations must not empty (access-tokens/last-admin.ts): one admin
      // token in force, so no revocation here is the last admin credential's.
      tokens: {
        find: async () => null,
        lockAdminCredentials: async () => {},
        // Every caller's token in force (access-tokens/caller.ts changeTransaction): the cut at
        // a revocation is tested on PostgreSQL (test/auth/stop46-caller-in-force.test.ts).
        // No client certificate's vouchers here: calls of these tests present none.
        lockVouchers: async () => [],
        lockCaller: async (id: string) => ({
          id,
          slug: "memory-caller",
          role: "ADMIN",
          profileIds: [],
          expiresAt: new Date(8.64e15),
          revokedAt: null,
        }),
        adminsInForce: async () => [
          {
            id: "memory-admin",
            slug: "memory-admin",
            role: "ADMIN",
            revokedAt: null,
            // Lasting: the guard counts only admins usable for another day.
            expiresAt: new Date(8.64e15),
          },
        ],
        certificatesPresenting: async () => [],
      },
      acme: { account: async () => undefined },
    });
    const unsupported = (repo: string) =>
      new Proxy(
        {},
        {
          get: (_, method) => {
            throw new Error(`MemoryStore: ${repo}.${String(method)} is not in memory`);
          },
        },
      );
    return new Proxy(partial, {
      get: (target, repo: string) => {
        const known = (target as Record<string, object>)[repo];
        if (!known) return unsupported(repo);
        return new Proxy(known, {
          get: (methods, method: string) => {
            const fn = (methods as Record<string, unknown>)[method];
            if (!fn) throw new Error(`MemoryStore: ${repo}.${method} is not in memory`);
            return fn;
          },
        });
      },
    }) as unknown as Repositories;
  }
}
