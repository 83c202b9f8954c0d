/**
 * Creating a PKCS #10 CSR (RFC 2986) for a key certmint holds: used for intermediate CAs whose
 * certificate is signed outside certmint (the operator submits the CSR to the external CA and
 * imports the signed certificate).
 */
import type { KeyObject } from "node:crypto";
import { invalidArgument } from "../errors";
import type { SignatureAlgorithm, SubjectAltNames, SubjectName } from "../model/pki";
import { algorithmIdentifierDer, defaultSignatureAlgorithm } from "./algorithms";
import { type CaSigner, SoftwareSigner } from "./ca-signer";
import { contextConstructed, oid, seq, set, smallInteger, toDer, toPem, wrapSigned } from "./der";
import { basicConstraints, keyUsage, subjectAltName } from "./extensions";
import { sanCount } from "./general-names";
import { subjectToAsn1 } from "./name";
import { spkiOf } from "./spki";

const EXTENSION_REQUEST = "1.2.840.113549.1.9.14";

export interface CreateCsrInput {
  subject: SubjectName;
  /** The key to certify: a CaSigner (preferred; also works for KMS keys) or a private key. */
  signer?: CaSigner;
  privateKey?: KeyObject;
  /** Defaults to defaultSignatureAlgorithm of the key. */
  signatureAlgorithm?: SignatureAlgorithm;
  sans?: SubjectAltNames;
  /**
   * Request a CA certificate: adds basicConstraints cA=TRUE (with pathLength if given) and
   * keyUsage keyCertSign + cRLSign + digitalSignature, both critical, in an extensionRequest.
   */
  ca?: { pathLength?: number };
}

export async function createCsr(input: CreateCsrInput): Promise<string> {
  const signer =
    input.signer ?? (input.privateKey ? new SoftwareSigner(input.privateKey) : undefined);
  if (signer === undefined)
    throw invalidArgument("KEY_MISSING", "createCsr needs a signer or a private key");
  const alg = input.signatureAlgorithm ?? defaultSignatureAlgorithm(signer.keyAlgorithm);

  const extensions = [];
  if (input.ca) {
    extensions.push(basicConstraints(true, input.ca.pathLength, true));
    extensions.push(keyUsage(["DIGITAL_SIGNATURE", "KEY_CERT_SIGN", "CRL_SIGN"]));
  }
  if (input.sans && sanCount(input.sans) > 0) {
    extensions.push(subjectAltName(input.sans, input.subject.attributes.length === 0));
  }
  const attributes =
    extensions.length > 0 ? [seq([oid(EXTENSION_REQUEST), set([seq(extensions)])])] : [];

  const cri = toDer(
    seq([
      smallInteger(0), // version v1 (RFC 2986 4.1)
      subjectToAsn1(input.subject),
      spkiOf(signer.publicKey).node,
      // attributes [0] IMPLICIT SET OF Attribute: required, possibly empty.
      contextConstructed(0, attributes),
    ]),
  );
  const signature = await signer.sign(cri, alg);
  return toPem("CERTIFICATE REQUEST", wrapSigned(cri, algorithmIdentifierDer(alg), signature));
}
