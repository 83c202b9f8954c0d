/**
 * Probe 52 (REVOCATION): what the revocation tests share on top of probe49's live certmint
 * (test/probe49/cert/live.ts): leaves, CRLs parsed by openssl, OCSP asked by `openssl ocsp` and
 * by plain HTTP GET without a nonce (the form caches and RFC 5019 clients use). Black-box:
 * nothing of src/ is imported.
 */
import { readFileSync } from "node:fs";
import forge from "node-forge";
import { GetCertificateRevocationListRequest } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import type { RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { attributesRequest, issueCertificate, type LiveCertmint } from "../../probe49/cert/live";
import { call } from "../../support/harness";
import { openssl, opensslOk, type TempDir } from "../../support/openssl";

export interface Leaf {
  id: string;
  serial: string;
  pem: string;
}

/** A leaf of `profile` for a fresh name, a key certmint generates. */
export async function issueLeaf(
  live: LiveCertmint,
  profile: string,
  cn: string,
  extra: Parameters<typeof attributesRequest>[1]["extra"] = {},
): Promise<Leaf> {
  const res = await issueCertificate(
    live,
    attributesRequest(profile, { cn, sans: { dnsNames: [cn] }, extra }),
  );
  const c = res.certificate!;
  return { id: c.certificateId, serial: c.serialNumber, pem: c.certificatePem };
}

export function revoke(live: LiveCertmint, certificate: string, reason: RevocationReason) {
  return call(live.certificates, "revokeCertificate", { certificate, reason });
}

/** GetCertificateRevocationList of `ca` (PEM and number). */
export function crlOf(live: LiveCertmint, ca: string) {
  return call(
    live.authorities,
    "getCertificateRevocationList",
    GetCertificateRevocationListRequest.fromPartial({ certificateAuthority: ca }),
  );
}

/** `openssl crl -text` of a PEM or DER CRL. */
export function crlText(tmp: TempDir, crl: string | Buffer): string {
  const der = Buffer.isBuffer(crl);
  return opensslOk([
    "crl",
    ...(der ? ["-inform", "DER"] : []),
    "-noout",
    "-text",
    "-in",
    tmp.file(der ? "t.crl.der" : "t.crl", crl),
  ]);
}

/** A CRL entry of `serial` as openssl prints it: its date and reason ("(none)"), or undefined. */
export function crlEntry(text: string, serial: string): { date: Date; reason: string } | undefined {
  const hex = serial.replace(/:/g, "").toUpperCase().replace(/^0+/, "");
  const m = new RegExp(
    `Serial Number: 0*${hex}\\n\\s*Revocation Date: ([^\\n]*)\\n((?:\\s{8,}[^\\n]*\\n)*)`,
    "i",
  ).exec(`${text}\n`);
  if (!m) return undefined;
  return {
    date: new Date(m[1]!),
    reason: /Reason Code:\s*\n\s*(.*)/.exec(m[2]!)?.[1]?.trim() ?? "(none)",
  };
}

/** An OCSP request (DER) for the certificate in `certFile` of the issuer in `issuerFile`, no nonce. */
export function ocspRequest(tmp: TempDir, issuerFile: string, ask: string[]): Buffer {
  const out = tmp.out("req.der");
  opensslOk(["ocsp", "-no_nonce", "-issuer", issuerFile, ...ask, "-reqout", out]);
  return readFileSync(out);
}

/** GET /ocsp/<url-encoded base64> (RFC 6960 A.1): the response DER and the HTTP answer. */
export async function ocspGet(live: LiveCertmint, request: Buffer) {
  const res = await fetch(`${live.ocspUrl}/${encodeURIComponent(request.toString("base64"))}`);
  const der = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, der };
}

/**
 * openssl's reading of an OCSP response, verified against `caFile`: its text (-resp_text), and
 * whether the signature verified.
 */
export function readOcsp(tmp: TempDir, der: Buffer, caFile: string) {
  const r = openssl([
    "ocsp",
    "-respin",
    tmp.file("resp.der", der),
    "-CAfile",
    caFile,
    // The CA key signs, named by its key hash, and carries no certificate: openssl looks for
    // the signer among -verify_other, not the trust store.
    "-verify_other",
    caFile,
    "-resp_text",
  ]);
  return { text: r.stdout, verified: /Response verify OK/.test(r.stderr + r.stdout), raw: r };
}

/** The first "Cert Status:" of an OCSP response's text: good, revoked or unknown. */
export function certStatus(text: string): string | undefined {
  return /Cert Status: (\w+)/.exec(text)?.[1];
}

/**
 * `der` (an OCSPRequest) with the first CertID's hashAlgorithm parameters replaced by `params`
 * (DER of one element) or removed (undefined): RFC 5754 lets SHA-1/SHA-2 AlgorithmIdentifiers
 * carry NULL or nothing, and clients differ (OpenSSL sends NULL). node-forge re-encodes the
 * lengths.
 */
export function withCertIdHashParams(der: Buffer, params: Buffer | undefined): Buffer {
  const request = forge.asn1.fromDer(der.toString("latin1"));
  const tbs = (request.value as forge.asn1.Asn1[])[0]!;
  const list = (tbs.value as forge.asn1.Asn1[]).find(
    (f) => f.tagClass === forge.asn1.Class.UNIVERSAL,
  )!;
  const certId = ((list.value as forge.asn1.Asn1[])[0]!.value as forge.asn1.Asn1[])[0]!;
  const algorithm = (certId.value as forge.asn1.Asn1[])[0]!;
  const oid = (algorithm.value as forge.asn1.Asn1[])[0]!;
  algorithm.value = params ? [oid, forge.asn1.fromDer(params.toString("latin1"))] : [oid];
  return Buffer.from(forge.asn1.toDer(request).getBytes(), "latin1");
}

/** The DER of the first CertID of an OCSPRequest (what the response must echo, RFC 6960 4.2.1). */
export function firstCertId(der: Buffer): Buffer {
  const request = forge.asn1.fromDer(der.toString("latin1"));
  const tbs = (request.value as forge.asn1.Asn1[])[0]!;
  const list = (tbs.value as forge.asn1.Asn1[]).find(
    (f) => f.tagClass === forge.asn1.Class.UNIVERSAL,
  )!;
  const certId = ((list.value as forge.asn1.Asn1[])[0]!.value as forge.asn1.Asn1[])[0]!;
  return Buffer.from(forge.asn1.toDer(certId).getBytes(), "latin1");
}
