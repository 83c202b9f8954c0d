/**
 * The signer port (smallstep cas/apiv1, Infisical ca-signer.ts): everything that signs
 * certificates, CRLs and CSRs goes through CaSigner.sign(bytes), so a KMS or HSM key can replace
 * the software key later without touching the encoders. Nothing outside src/signer sees the
 * private key.
 */
import { createPublicKey, type KeyObject, sign as signSync } from "node:crypto";
import { internalError, invalidArgument } from "../errors";
import type { KeyAlgorithm, SignatureAlgorithm } from "../model/pki";
import { assertSignatureFits, keyAlgorithmOf, SIGNATURE_ALGORITHM_INFO } from "./algorithms";
import { importPrivateKeyPem } from "./keys";

export interface CaSigner {
  readonly publicKey: KeyObject;
  readonly keyAlgorithm: KeyAlgorithm;
  /**
   * Signs `data` (a DER TBSCertificate, TBSCertList or CertificationRequestInfo) and returns
   * the signature value as it goes into the BIT STRING: PKCS#1 v1.5 for RSA, DER
   * Ecdsa-Sig-Value for ECDSA (RFC 5758 3.2), the 64 raw octets for Ed25519 (RFC 8410 3).
   */
  sign(data: Buffer, alg: SignatureAlgorithm): Promise<Buffer>;
}

export interface SoftwareSignerOptions {
  /**
   * Sign on the libuv thread pool instead of the calling thread. Default: true for RSA and
   * P-384 (0.3-3 ms per signature would stall the event loop), false for P-256 and Ed25519
   * (about 20-30 us: cheaper than the hop to the pool).
   */
  offload?: boolean;
}

const signingFailed = (cause: unknown) =>
  internalError("SIGNING_FAILED", "the CA key could not produce a signature", { cause });

/** A CA key held in process memory as a KeyObject. */
export class SoftwareSigner implements CaSigner {
  readonly publicKey: KeyObject;
  readonly keyAlgorithm: KeyAlgorithm;
  readonly #privateKey: KeyObject;
  readonly #offload: boolean;

  constructor(privateKey: KeyObject, options: SoftwareSignerOptions = {}) {
    if (privateKey.type !== "private") {
      throw invalidArgument("KEY_NOT_PRIVATE", "a SoftwareSigner needs a private key");
    }
    this.#privateKey = privateKey;
    this.publicKey = createPublicKey(privateKey);
    this.keyAlgorithm = keyAlgorithmOf(this.publicKey);
    this.#offload =
      options.offload ?? !(this.keyAlgorithm === "EC_P256" || this.keyAlgorithm === "ED25519");
  }

  static fromPem(pem: string, options?: SoftwareSignerOptions): SoftwareSigner {
    return new SoftwareSigner(importPrivateKeyPem(pem), options);
  }

  sign(data: Buffer, alg: SignatureAlgorithm): Promise<Buffer> {
    try {
      assertSignatureFits(this.keyAlgorithm, alg);
    } catch (e) {
      return Promise.reject(e);
    }
    const hash = SIGNATURE_ALGORITHM_INFO[alg].hash;
    const key = { key: this.#privateKey, dsaEncoding: "der" as const };
    if (!this.#offload) {
      try {
        return Promise.resolve(signSync(hash, data, key));
      } catch (e) {
        return Promise.reject(signingFailed(e));
      }
    }
    return new Promise((resolve, reject) => {
      signSync(hash, data, key, (err, signature) =>
        err ? reject(signingFailed(err)) : resolve(signature),
      );
    });
  }

  /** Keeps the private key out of console.log / util.inspect / JSON output. */
  toJSON(): object {
    return { keyAlgorithm: this.keyAlgorithm };
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `SoftwareSigner(${this.keyAlgorithm})`;
  }
}
