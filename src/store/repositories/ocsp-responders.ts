import type { EntityManager } from "@mikro-orm/postgresql";
import type {
  OcspResponderCertificate,
  OcspResponderRepository,
} from "../../issuance/repositories";

/**
 * Delegated OCSP responder certificates (table ocsp_responder_certificate, migration
 * 20261202110000), in plain SQL: no use case reads them back, so they have no entity.
 */
export class SqlOcspResponderRepository implements OcspResponderRepository {
  constructor(private readonly em: () => EntityManager) {}

  async recordIntent(r: OcspResponderCertificate): Promise<void> {
    const em = this.em();
    await em
      .getConnection()
      .execute(
        `insert into "ocsp_responder_certificate" ("id", "ca_id", "serial_number", "certificate_pem", "not_after", "created_at") values (?, ?, ?, null, ?, ?)`,
        [r.id, r.caId, r.serialNumber, r.notAfter, r.createdAt],
        "run",
        em.getTransactionContext(),
      );
  }

  async storeCertificate(id: string, certificatePem: string): Promise<void> {
    const em = this.em();
    await em
      .getConnection()
      .execute(
        `update "ocsp_responder_certificate" set "certificate_pem" = ? where "id" = ?`,
        [certificatePem, id],
        "run",
        em.getTransactionContext(),
      );
  }
}
