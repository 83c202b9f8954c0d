import type { EntityManager, MikroORM } from "@mikro-orm/postgresql";
import type { KekCheckRepository, Repositories, Store } from "../issuance/repositories";
import { OrmAccessTokenRepository } from "./repositories/access-tokens";
import { OrmAcmeRepository } from "./repositories/acme";
import { OrmAuditRepository } from "./repositories/audit";
import { OrmCaRepository } from "./repositories/certificate-authorities";
import { OrmCertificateEventRepository } from "./repositories/certificate-events";
import { OrmPolicyRepository } from "./repositories/certificate-policies";
import { OrmProfileRepository } from "./repositories/certificate-profiles";
import { OrmRequestRepository } from "./repositories/certificate-requests";
import { OrmCertificateRepository } from "./repositories/certificates";
import { OrmIssuanceRepository } from "./repositories/issuance";
import { OrmKekCheckRepository } from "./repositories/kek-check";
import { SqlOcspResponderRepository } from "./repositories/ocsp-responders";
import { OrmRenewalRepository } from "./repositories/renewals";

/**
 * The store the use cases are given (src/issuance/repositories): every repository on the ORM,
 * each call on a fresh fork of its EntityManager (MikroORM's identity map per unit of work),
 * and `transaction`, whose repositories share one transaction's EntityManager. The issuance
 * hot path's statements (repositories/issuance.ts) run on pooled connections of their own and
 * commit on their own, in a transaction or not. With `databaseUrl` (a real PostgreSQL that
 * replicas share) certificate events are announced with NOTIFY (repositories/certificate-events.ts),
 * and a ListCertificates or ListAuditRecords page honours its time bound (store/bounded-read.ts).
 */
export function createStore(orm: MikroORM, options: { databaseUrl?: string } = {}): Store {
  const fresh = () => orm.em.fork();
  // A PostgreSQL server cancels a statement at its statement_timeout; PGlite does not.
  const boundedReads = options.databaseUrl !== undefined;
  const issuance = new OrmIssuanceRepository(orm.em.fork());
  const on = (em: () => EntityManager): Repositories => ({
    cas: new OrmCaRepository(em),
    policies: new OrmPolicyRepository(em),
    profiles: new OrmProfileRepository(em),
    certificates: new OrmCertificateRepository(em, { boundedReads }),
    requests: new OrmRequestRepository(em, { boundedReads }),
    issuance,
    tokens: new OrmAccessTokenRepository(em),
    audit: new OrmAuditRepository(em, { boundedReads }),
    acme: new OrmAcmeRepository(em),
    ocspResponders: new SqlOcspResponderRepository(em),
    renewals: new OrmRenewalRepository(em),
    events: new OrmCertificateEventRepository(em, options.databaseUrl),
  });
  return {
    ...on(fresh),
    transaction: (fn) => fresh().transactional((tx: EntityManager) => fn(on(() => tx))),
  };
}

/** The key-encryption key's check value, read and written once at start-up. */
export const kekCheckStore = (orm: MikroORM): KekCheckRepository =>
  new OrmKekCheckRepository(() => orm.em.fork());
