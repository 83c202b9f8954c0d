/**
 * certmint's signer: the only module that touches private keys, ASN.1 and signatures.
 * node-forge is used for ASN.1/PEM encoding only; every key generation, signature and
 * verification goes through Node's crypto (GUIDE section 3).
 */
export {
  algorithmIdentifierDer,
  assertSignatureFits,
  checkPublicKey,
  defaultSignatureAlgorithm,
  type KeyCheck,
  keyAlgorithmOf,
  OIDS,
  SIGNATURE_ALGORITHM_INFO,
  type SignatureAlgorithmInfo,
  signatureAlgorithmFromOid,
} from "./algorithms";
export { type CaSigner, SoftwareSigner, type SoftwareSignerOptions } from "./ca-signer";
export {
  type IssueCertificateInput,
  type IssuedCertificate,
  issueCertificate,
} from "./certificate";
export { CaCertificateSet, type IssuingLink } from "./chain";
export {
  type BuildCrlInput,
  buildCrl,
  crlPem,
  crlPemLength,
  type EncodedRevokedEntries,
  type RevokedEntry,
  writeCrlPem,
} from "./crl";
export {
  DEFAULT_CSR_MAX_BYTES,
  type ParseCsrOptions,
  type ParsedCsr,
  parseCsr,
  parseCsrDer,
  type RequestedExtensions,
} from "./csr";
export { type CreateCsrInput, createCsr } from "./csr-create";
export { type CsrParser, CsrWorkers, inlineCsrParser } from "./csr-workers";
export { wholeSeconds } from "./der";
export { canonicalIp, ipFromBytes, ipToBytes } from "./ip";
export {
  assertConstraintsWithin,
  assertExtendedKeyUsagesPermitted,
  assertNamesPermitted,
  Issuer,
  type IssuerInit,
  mayCertifyResponders,
} from "./issuer";
export { type KekSource, type LoadedKek, loadOrCreateKek } from "./kek";
export {
  type GenerateRsa,
  type KeyGenerationStats,
  KeyGenerator,
  type KeyGeneratorOptions,
  type KeyRequest,
} from "./key-generator";
export { KEK_LENGTH, openPrivateKey, sealPrivateKey } from "./key-wrap";
export {
  exportPrivateKeyPem,
  exportPublicKeyPem,
  generateKeyPair,
  importPrivateKeyPem,
  importPublicKeyPem,
  type KeyPair,
} from "./keys";
export { MessageAuthenticator } from "./mac";
export { nameToString, sameDistinguishedName, subjectToDer, subjectToString } from "./name";
export {
  canonicalNameConstraints,
  hasNameConstraints,
  namesOutside,
  readNameConstraints,
  type SubtreeOutside,
  subtreesOutside,
} from "./name-constraints";
export {
  type BuildOcspResponseInput,
  buildOcspResponse,
  OCSP_REQUEST_MAX_BYTES,
  type OcspCertId,
  type OcspCertStatus,
  type OcspErrorStatus,
  type OcspRequest,
  type OcspSingleResponse,
  ocspErrorResponse,
  ocspIssuerHashes,
  parseOcspRequest,
} from "./ocsp";
export { type ParsedCertificate, parseCertificate } from "./parse-certificate";
export { assertValidSerial, newSerialNumber, serialFromHex, serialToHex } from "./serial";
export { spkiSha256Of } from "./spki";
export { allowedKeyUsagesFor, checkKeyUsages } from "./usage";
export { computeValidity, type Validity, type ValidityInput } from "./validity";
