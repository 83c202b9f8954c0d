/**
 * The delegated OCSP responder certificates a CA signs (RFC 6960 4.2.2.2; ca/ocsp-delegate.ts).
 * A row is recorded, with its serial, before the CA key signs (as for leaves: the database knows
 * every certificate a CA key signs); the certificate is added once signed.
 */
export interface OcspResponderCertificate {
  id: string;
  caId: string;
  /** Lower-case hex, no colons; unique per CA. */
  serialNumber: string;
  notAfter: Date;
  createdAt: Date;
}

export interface OcspResponderRepository {
  /** Records the responder certificate about to be signed (its PEM still unknown); commits. */
  recordIntent(responder: OcspResponderCertificate): Promise<void>;
  /** The signed certificate of a recorded responder. */
  storeCertificate(id: string, certificatePem: string): Promise<void>;
}
