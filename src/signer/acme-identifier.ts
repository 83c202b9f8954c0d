/**
 * The acmeIdentifier extension of a tls-alpn-01 validation certificate (RFC 8737 3): OID
 * 1.3.6.1.5.5.7.1.31, critical, its value an OCTET STRING holding the SHA-256 of the key
 * authorization.
 */

import type { SubjectAltNames } from "../model/pki";
import { type Asn1, Class, parseDer, Type } from "./der";
import { children, isTag, primitive } from "./der-read";
import { readExtensions, readSubjectAltName } from "./extension-readers";

export const ACME_IDENTIFIER_OID = "1.3.6.1.5.5.7.1.31";

export interface AlpnCertificateFields {
  /** The digest in acmeIdentifier; undefined when the extension is absent. */
  digest?: Buffer;
  critical: boolean;
  sans: SubjectAltNames;
}

/** Reads what RFC 8737 3 checks from a DER certificate; throws a plain Error when malformed. */
export function readAlpnCertificate(der: Uint8Array): AlpnCertificateFields {
  const { node } = parseDer(der);
  const [tbs] = children(node, "Certificate");
  const items = children(tbs, "TBSCertificate");
  const wrapper = items.find((n) => isTag(n, Class.CONTEXT_SPECIFIC, 3));
  const exts = wrapper
    ? readExtensions(children(wrapper, "extensions", Class.CONTEXT_SPECIFIC, 3)[0] as Asn1)
    : new Map();
  const acme = exts.get(ACME_IDENTIFIER_OID);
  const san = exts.get("2.5.29.17");
  return {
    ...(acme
      ? {
          digest: Buffer.from(
            primitive(acme.value, "acmeIdentifier", Class.UNIVERSAL, Type.OCTETSTRING),
            "latin1",
          ),
        }
      : {}),
    critical: acme?.critical === true,
    sans: san ? readSubjectAltName(san.value, true) : { dns: [], ip: [], email: [], uri: [] },
  };
}
