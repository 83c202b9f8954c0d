/**
 * OCSP requests (RFC 6960 4.1.1) with extensions openssl cannot add: an OCSPRequest's DER
 * re-encoded with one more extension in its requestExtensions, or in the singleRequestExtensions
 * of its first Request. node-forge's ASN.1 only, no certmint code.
 */
import forge from "node-forge";

const { asn1 } = forge;

export interface TestExtension {
  oid: string;
  critical: boolean;
  /** The extnValue's content (DER of the extension's own value). */
  value: Buffer;
}

function extensionNode(ext: TestExtension): forge.asn1.Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(ext.oid).getBytes()),
    ...(ext.critical ? [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BOOLEAN, false, "\xff")] : []),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, ext.value.toString("latin1")),
  ]);
}

/** `der` with `ext` added to the requestExtensions ([2]) or to the first Request's ([0]). */
export function withOcspExtension(
  der: Buffer,
  ext: TestExtension,
  where: "request" | "single" = "request",
): Buffer {
  const request = asn1.fromDer(der.toString("latin1"));
  const tbs = (request.value as forge.asn1.Asn1[])[0]!;
  const fields = tbs.value as forge.asn1.Asn1[];
  const holder = (() => {
    if (where === "single") {
      const list = fields.find((f) => f.tagClass === asn1.Class.UNIVERSAL)!;
      return { parent: (list.value as forge.asn1.Asn1[])[0]!, tag: 0 };
    }
    return { parent: tbs, tag: 2 };
  })();
  const children = holder.parent.value as forge.asn1.Asn1[];
  let explicit = children.find(
    (c) => c.tagClass === asn1.Class.CONTEXT_SPECIFIC && c.type === holder.tag,
  );
  if (!explicit) {
    explicit = asn1.create(asn1.Class.CONTEXT_SPECIFIC, holder.tag, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, []),
    ]);
    children.push(explicit);
  }
  const extensions = (explicit.value as forge.asn1.Asn1[])[0]!;
  (extensions.value as forge.asn1.Asn1[]).push(extensionNode(ext));
  return Buffer.from(asn1.toDer(request).getBytes(), "latin1");
}

/** DER of an OCTET STRING: the extnValue content of a nonce (RFC 8954). */
export function nonceValue(bytes: Buffer): Buffer {
  return Buffer.from(
    asn1
      .toDer(
        asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, bytes.toString("latin1")),
      )
      .getBytes(),
    "latin1",
  );
}
