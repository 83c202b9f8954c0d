import { randomUUID } from "node:crypto";
import type { SignatureAlgorithm } from "../../model/pki";
import {
  type CaSigner,
  generateKeyPair,
  issueCertificate,
  newSerialNumber,
  SoftwareSigner,
  serialToHex,
} from "../../signer";
import type { CertificateAuthorityRow } from "../../store/entities";
import { caIssuer } from "./load";
import type { CaDeps } from "./types";

/** A delegated responder of one CA: its key (this process only) and its certificate. */
export interface DelegatedResponder {
  signer: CaSigner;
  signatureAlgorithm: SignatureAlgorithm;
  certificatePem: string;
  notAfter: Date;
  /** performance.now() past which a new one is made (half its lifetime). */
  renewAt: number;
}

/** How long a responder certificate is valid: a week, or less if its CA ends sooner. */
export const RESPONDER_LIFETIME_SECONDS = 7 * 86_400;

/**
 * Delegated OCSP responders (RFC 6960 4.2.2.2): the CA key signs a short-lived certificate
 * for a P-256 key made in this process (id-kp-OCSPSigning, id-pkix-ocsp-nocheck), and that key
 * signs the OCSP responses, so the CA key signs once a few days instead of once per response.
 * The certificate's row and serial are committed before the CA signs it (the database knows
 * every certificate a CA key signs); the private key is never stored and dies with the
 * process. Each replica makes its own.
 */
export class DelegatedResponders {
  private readonly responders = new Map<string, DelegatedResponder>();
  private readonly making = new Map<string, Promise<DelegatedResponder>>();

  constructor(private readonly deps: CaDeps) {}

  /** The CA's current responder, made when there is none or half its lifetime has passed. */
  async responderFor(ca: CertificateAuthorityRow): Promise<DelegatedResponder> {
    const current = this.responders.get(ca.id);
    if (current && performance.now() < current.renewAt) return current;
    let pending = this.making.get(ca.id);
    if (!pending) {
      pending = this.make(ca).finally(() => this.making.delete(ca.id));
      this.making.set(ca.id, pending);
    }
    return pending;
  }

  private async make(ca: CertificateAuthorityRow): Promise<DelegatedResponder> {
    const { publicKey, privateKey } = await generateKeyPair("EC_P256");
    const now = this.deps.now();
    const notBefore = new Date(now.getTime() - 60_000); // clock skew, as for leaves
    const limit = now.getTime() + RESPONDER_LIFETIME_SECONDS * 1000;
    const notAfter = new Date(Math.min(limit, ca.notAfter?.getTime() ?? limit));
    const serial = newSerialNumber();
    const id = randomUUID();
    const connection = this.deps.orm.em.getConnection();
    await connection.execute(
      `insert into "ocsp_responder_certificate" ("id", "ca_id", "serial_number", "certificate_pem", "not_after", "created_at") values (?, ?, ?, null, ?, ?)`,
      [id, ca.id, serialToHex(serial), notAfter, now],
    );
    const issued = await issueCertificate({
      subject: { attributes: [{ type: "COMMON_NAME", value: `${ca.slug} OCSP responder` }] },
      sans: { dns: [], ip: [], email: [], uri: [] },
      publicKey,
      serial,
      notBefore,
      notAfter,
      isCa: false,
      keyUsages: ["DIGITAL_SIGNATURE"],
      extendedKeyUsages: ["OCSP_SIGNING"],
      signatureAlgorithm: ca.signatureAlgorithm as SignatureAlgorithm,
      issuer: caIssuer(this.deps, ca),
      ocspNoCheck: true,
    });
    await connection.execute(
      `update "ocsp_responder_certificate" set "certificate_pem" = ? where "id" = ?`,
      [issued.pem, id],
    );
    const lifetimeMs = issued.notAfter.getTime() - now.getTime();
    const responder: DelegatedResponder = {
      signer: new SoftwareSigner(privateKey),
      signatureAlgorithm: "ECDSA_WITH_SHA256",
      certificatePem: issued.pem,
      notAfter: issued.notAfter,
      renewAt: performance.now() + lifetimeMs / 2,
    };
    this.responders.set(ca.id, responder);
    return responder;
  }
}
