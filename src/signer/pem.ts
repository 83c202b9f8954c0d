/**
 * Strict PEM decoding (RFC 7468). forge's decoder is lenient (it ignores text around blocks,
 * accepts several blocks and invalid base64), which hides mistakes a caller should hear about.
 * Here the input must be exactly one block with an expected label, surrounded by whitespace
 * only, with strictly valid base64 (RFC 7468 section 3 "strict" grammar, lines of any length).
 */

export class PemError extends Error {}

const BEGIN = /-----BEGIN ([\x21-\x2c\x2e-\x7e](?:[- ]?[\x21-\x2c\x2e-\x7e])*)?-----/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Returns the DER bytes of the single PEM block in `text`, whose label must be in `labels`. */
export function decodePem(text: string, labels: readonly string[]): { label: string; der: Buffer } {
  BEGIN.lastIndex = 0;
  const begin = BEGIN.exec(text);
  if (begin === null) {
    throw new PemError(`no PEM block found; expected -----BEGIN ${labels[0]}-----`);
  }
  const label = begin[1] ?? "";
  if (!labels.includes(label)) {
    throw new PemError(`expected a PEM block labelled ${labels[0]}, got "${label}"`);
  }
  if (text.slice(0, begin.index).trim() !== "") {
    throw new PemError("unexpected text before the PEM block");
  }
  const endMarker = `-----END ${label}-----`;
  const bodyStart = begin.index + begin[0].length;
  const end = text.indexOf(endMarker, bodyStart);
  if (end < 0) throw new PemError(`missing ${endMarker} line (truncated PEM?)`);
  if (text.slice(end + endMarker.length).trim() !== "") {
    throw new PemError("unexpected data after the PEM block; send exactly one block");
  }
  const body = text.slice(bodyStart, end).replace(/[ \t\r\n]+/g, "");
  if (body.includes(":")) throw new PemError("encrypted or header-carrying PEM is not accepted");
  if (body.length === 0) throw new PemError("the PEM block is empty");
  if (body.length % 4 !== 0 || !BASE64.test(body)) {
    throw new PemError("the PEM body is not valid base64");
  }
  return { label, der: Buffer.from(body, "base64") };
}
