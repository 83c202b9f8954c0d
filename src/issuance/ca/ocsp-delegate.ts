import { CertmintError, failedPrecondition } from "../../errors";
import type { SignatureAlgorithm } from "../../model/pki";
import {
  type CaSigner,
  computeValidity,
  generateKeyPair,
  issueCertificate,
  newSerialNumber,
  SoftwareSigner,
  serialToHex,
  type Validity,
  wholeSeconds,
} from "../../signer";
import { newRowId } from "../common/ids";
import type { CertificateAuthority, OcspResponderRepository } from "../repositories";
import type { CaKeyring } from "./keyring";
import { caIssuer, caPathEnd } from "./load";

/** A delegated responder of one CA: its key (this process only) and its certificate. */
export interface DelegatedResponder {
  signer: CaSigner;
  signatureAlgorithm: SignatureAlgorithm;
  certificatePem: string;
  notAfter: Date;
  /** performance.now() past which a new one is made (half its lifetime). */
  renewAt: number;
  /** The same half of its lifetime by the wall clock (see responderFor). */
  renewAfter: Date;
}

export interface DelegateDeps {
  store: { ocspResponders: Pick<OcspResponderRepository, "recordIntent" | "storeCertificate"> };
  keyring: Pick<CaKeyring, "signerFor">;
  now: () => Date;
}

/**
 * How long a responder certificate is valid: a week, notBefore to notAfter inclusive with the
 * backdated minute counted (README: "7 days at most"), or less if its CA ends sooner (then it
 * is kept until it ends, not replaced at half its lifetime).
 */
export const RESPONDER_LIFETIME_SECONDS = 7 * 86_400;

/**
 * Delegated OCSP responders (RFC 6960 4.2.2.2): the CA key signs a short-lived certificate
 * for a P-256 key made in this process (id-kp-OCSPSigning, id-pkix-ocsp-nocheck), and that key
 * signs the OCSP responses, so the CA key signs once a few days instead of once per response.
 * The certificate's row and serial are committed before the CA signs it (the database knows
 * every certificate a CA key signs); the private key is never stored and dies with the
 * process. Each replica makes its own. A revoked CA, or one below a revoked CA, certifies none:
 * its responses are signed by the responder it certified before, while that is in the first
 * half of its life in this process, then by the CA key itself (ocsp.ts). Until stop 44 of
 * 2026-12-06 the revoked CA's key certified a new responder at each half-life (and in each
 * replica started after the revocation): a new certificate from a revoked, possibly
 * compromised, CA.
 */
export class DelegatedResponders {
  private readonly responders = new Map<string, DelegatedResponder>();
  private readonly making = new Map<string, Promise<DelegatedResponder>>();

  constructor(private readonly deps: DelegateDeps) {}

  /**
   * The CA's current responder, made when there is none or half its lifetime has passed, by
   * either clock: the monotonic one alone (a duration) missed a wall clock stepped forward, and a
   * host suspended (CLOCK_MONOTONIC stops while it sleeps, the wall clock does not) for half a
   * week came back signing with an expired responder certificate, every response refused.
   */
  async responderFor(
    ca: CertificateAuthority,
    now: Date = this.deps.now(),
  ): Promise<DelegatedResponder> {
    const current = this.current(ca.id, now);
    if (current) return current;
    let pending = this.making.get(ca.id);
    if (!pending) {
      pending = this.make(ca, now).finally(() => this.making.delete(ca.id));
      this.making.set(ca.id, pending);
    }
    return pending;
  }

  /**
   * The CA's responder if this process has one still in the first half of its lifetime (by
   * both clocks, as responderFor reads it); never makes one. For a revoked CA (or one below a
   * revoked CA), which certifies no new responder: ocsp.ts signs with the CA key itself when
   * there is none (RFC 6960 4.2.2.2: the CA is an authorized responder).
   */
  current(caId: string, now: Date = this.deps.now()): DelegatedResponder | undefined {
    const current = this.responders.get(caId);
    if (current && performance.now() < current.renewAt && now < current.renewAfter) return current;
    return undefined;
  }

  /** The CA has ended (ocsp.ts answers `unauthorized` for it): its responder is dropped. */
  forget(caId: string): void {
    this.responders.delete(caId);
  }

  /**
   * A responder certificate for the CA, valid from a minute before `now` (the time the response
   * is dated; never before the CA or a CA above it) for a week in all, or until the CA's end,
   * whichever is first. The caller has checked
   * that the CA has not ended at `now` (ocsp.ts caEnded); one that has cannot certify a
   * responder (a validity ending before it begins), and is refused here before any key, row or
   * signature is made: until stop 40 of 2026-12-05 each OCSP request about an expired CA
   * recorded a responder row and then failed to sign it, an error-level log line per request.
   */
  private async make(ca: CertificateAuthority, now: Date): Promise<DelegatedResponder> {
    // A revoked CA signs no new certificate (ocsp.ts asks current() for it, never this); its
    // revocation is checked here too, before any key, row or signature is made.
    if (ca.revokedAt) {
      throw failedPrecondition(
        "CA_REVOKED",
        `certificate authority "${ca.slug}" was revoked at ${ca.revokedAt.toISOString()}; it certifies no OCSP responder`,
      );
    }
    // The leaves' clamped validity (computeValidity): the backdated minute never reaches before
    // the CA or a CA above it (an outside CA signed "now" has none), the end never passes the
    // path's end, and the whole inclusive period, backdate counted, is at most a week (RFC 5280
    // 4.1.2.5). Until stop 44 of 2026-12-06 the responder backdated on its own: it could start
    // up to a minute before a just-imported outside CA, and lasted a week and 61 s.
    const path = caPathEnd(this.deps, ca);
    let validity: Validity;
    try {
      validity = computeValidity({
        now,
        ttlSeconds: RESPONDER_LIFETIME_SECONDS,
        issuerNotBefore: path.notBefore ?? undefined,
        issuerNotAfter: path.notAfter ?? undefined,
        onExceed: "truncate",
        maxPeriodSeconds: RESPONDER_LIFETIME_SECONDS,
      });
    } catch (err) {
      if (err instanceof CertmintError && err.reason === "ISSUER_EXPIRED") {
        throw failedPrecondition(
          "ISSUER_EXPIRED",
          `certificate authority "${ca.slug}" expired at ${path.notAfter?.toISOString()}; it certifies no OCSP responder`,
        );
      }
      throw err;
    }
    const { notBefore, notAfter } = validity;
    const { publicKey, privateKey } = await generateKeyPair("EC_P256");
    const serial = newSerialNumber();
    const id = newRowId();
    const responders = this.deps.store.ocspResponders;
    await responders.recordIntent({
      id,
      caId: ca.id,
      serialNumber: serialToHex(serial),
      notAfter,
      createdAt: now,
    });
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
      signatureAlgorithm: ca.signatureAlgorithm,
      issuer: caIssuer(this.deps, ca),
      ocspNoCheck: true,
    });
    await responders.storeCertificate(id, issued.pem);
    const lifetimeMs = issued.notAfter.getTime() - now.getTime();
    // A responder that ends with its CA is kept to the end: a new one could not last longer,
    // and replacing it at each half of what is left made a certificate (a row and a CA
    // signature) every few seconds of the CA's last minutes.
    const endsWithCa =
      validity.truncated ||
      (path.notAfter !== null && notAfter.getTime() >= wholeSeconds(path.notAfter).getTime());
    const renewInMs = endsWithCa ? lifetimeMs : lifetimeMs / 2;
    const responder: DelegatedResponder = {
      signer: new SoftwareSigner(privateKey),
      signatureAlgorithm: "ECDSA_WITH_SHA256",
      certificatePem: issued.pem,
      notAfter: issued.notAfter,
      renewAt: performance.now() + renewInMs,
      renewAfter: new Date(now.getTime() + renewInMs),
    };
    this.responders.set(ca.id, responder);
    return responder;
  }
}
