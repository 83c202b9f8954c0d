/**
 * The storage the use cases see: one repository per aggregate, each method named for what it
 * does (interfaces here, implementations in src/store/, where all SQL and ORM code live). A use
 * case asks for the few methods it needs (Pick<>, after Infisical's DAL picks and smallstep's
 * db.AuthDB), so a test builds it from in-memory repositories (test/issuance/memory-store.ts).
 */
import type { AccessTokenRepository } from "./access-tokens";
import type { AcmeRepository } from "./acme";
import type { AuditRepository } from "./audit";
import type { CaRepository } from "./certificate-authorities";
import type { CertificateEventRepository } from "./certificate-events";
import type { PolicyRepository } from "./certificate-policies";
import type { ProfileRepository } from "./certificate-profiles";
import type { RequestRepository } from "./certificate-requests";
import type { CertificateRepository } from "./certificates";
import type { IssuanceRepository } from "./issuance";
import type { OcspResponderRepository } from "./ocsp-responders";
import type { RenewalRepository } from "./renewals";

export interface Repositories {
  cas: CaRepository;
  policies: PolicyRepository;
  profiles: ProfileRepository;
  certificates: CertificateRepository;
  requests: RequestRepository;
  issuance: IssuanceRepository;
  tokens: AccessTokenRepository;
  audit: AuditRepository;
  /** ACME protocol state (src/acme). */
  acme: AcmeRepository;
  ocspResponders: OcspResponderRepository;
  renewals: RenewalRepository;
  events: CertificateEventRepository;
}

/**
 * Repositories `R`, and a transaction over the same: whatever `fn` writes through `tx` commits
 * together or not at all (a change and its audit record, say).
 */
export type StoreWith<R> = R & { transaction<T>(fn: (tx: R) => Promise<T>): Promise<T> };

/** The whole store, as the composition root (src/app.ts) builds it. */
export type Store = StoreWith<Repositories>;

export * from "./access-tokens";
export * from "./acme";
export * from "./audit";
export * from "./certificate-authorities";
export * from "./certificate-events";
export * from "./certificate-policies";
export * from "./certificate-profiles";
export * from "./certificate-requests";
export * from "./certificates";
export * from "./conflicts";
export * from "./issuance";
export * from "./kek-check";
export * from "./ocsp-responders";
export * from "./paging";
export * from "./renewals";
