/**
 * zlint and pkilint (make pki-lint-tools: .tools/bin/zlint-<version>, .tools/pkilint) run on
 * one object certmint signed; each returns its findings at warning level and above as
 * "tool:lint" strings. Only the lint sources that apply to a private PKI run (no CA/Browser
 * Forum, browser root program or ETSI rules): see ZLINT_SOURCES.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { TempDir } from "../support/openssl";
import { ROOT } from "../support/server-process";

const ZLINT = join(ROOT, ".tools", "bin", "zlint");
const PKILINT = join(ROOT, ".tools", "pkilint", "bin");

/** An object's description as a file name. */
const fileName = (name: string) => name.replace(/[^A-Za-z0-9.-]+/g, "_");

/**
 * zlint's sources that bind any X.509 PKI: RFC 5280 (profile), RFC 3279 / 5480 / 8813
 * (algorithms and keys), RFC 5891 (IDNA in names), and the community lints (encoding defects
 * no document names but every validator trips on). RFC 6960 is a source of zlint's OCSP
 * response lints, which its command line does not run (pkilint lints the responses). Left out: CABF_BR,
 * CABF_CS_BR, CABF_EV, CABF_SMIME_BR, Apple, Chrome, Mozilla, ETSI_ESI (public web PKI and
 * root programs), RFC 6962 (Certificate Transparency, which a private CA does not log to).
 */
export const ZLINT_SOURCES = [
  "RFC5280",
  "RFC3279",
  "RFC5480",
  "RFC8813",
  "RFC5891",
  "Community",
] as const;

export function lintToolsInstalled(): boolean {
  return existsSync(ZLINT) && existsSync(join(PKILINT, "lint_pkix_cert"));
}

interface ZlintResult {
  result: string;
  details?: string;
}

/** One finding: "tool:lint" and what the tool said about it. */
export interface Finding {
  id: string;
  message: string;
}

/** zlint's warnings, errors and fatals of one PEM certificate, as "zlint:<lint>". */
export function zlintFindings(tmp: TempDir, name: string, pem: string): Finding[] {
  const file = tmp.file(`${fileName(name)}.pem`, pem);
  const out = execFileSync(
    ZLINT,
    ["-includeSources", ZLINT_SOURCES.join(","), "-format", "pem", file],
    { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
  );
  const results = JSON.parse(out) as Record<string, ZlintResult>;
  // The sources ran (a renamed source would otherwise lint nothing, and pass).
  if (!("e_basic_constraints_not_critical" in results) || Object.keys(results).length < 100) {
    throw new Error(`zlint ran ${Object.keys(results).length} lints: check ZLINT_SOURCES`);
  }
  return Object.entries(results)
    .filter(([, r]) => ["warn", "error", "fatal"].includes(r.result))
    .map(([lint, r]) => ({ id: `zlint:${lint}`, message: r.details ?? "" }));
}

interface PkilintFinding {
  severity: string;
  code: string;
  message?: string | null;
}
interface PkilintResult {
  validator: string;
  node_path: string;
  finding_descriptions: PkilintFinding[];
}

/**
 * pkilint's findings at WARNING and above for one DER object, as "pkilint:<code>". The
 * certificate linter is lint_pkix_cert (RFC 5280 only), the CRL linter runs the PKIX profile
 * (not BR), the OCSP response linter RFC 6960.
 */
export function pkilintFindings(
  tmp: TempDir,
  kind: "cert" | "crl" | "ocsp",
  name: string,
  der: Buffer,
): Finding[] {
  const file = tmp.file(`${fileName(name)}.der`, der);
  const [tool, extra] =
    kind === "cert"
      ? ["lint_pkix_cert", []]
      : kind === "crl"
        ? ["lint_crl", ["-t", "CRL", "-p", "PKIX"]]
        : ["lint_ocsp_response", []];
  const r = spawnSync(
    join(PKILINT, tool),
    ["lint", ...extra, "-s", "WARNING", "-f", "JSON", "--document-format", "DER", file],
    { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
  );
  return parsePkilint(tool, r);
}

/** pkilint's JSON findings at WARNING and above; no JSON is the tool failing. */
function parsePkilint(
  tool: string,
  r: { status: number | null; stdout: string; stderr: string },
): Finding[] {
  // The exit status is the number of findings (at most 255).
  let list: PkilintResult[];
  try {
    list = (JSON.parse(r.stdout) as { results: PkilintResult[] }).results;
    if (!Array.isArray(list)) throw new Error("no results");
  } catch {
    throw new Error(`${tool} failed (${r.status}): ${r.stdout}${r.stderr}`);
  }
  const out: Finding[] = [];
  for (const result of list) {
    for (const f of result.finding_descriptions) {
      if (["WARNING", "ERROR", "FATAL"].includes(f.severity))
        out.push({ id: `pkilint:${f.code}`, message: f.message ?? "" });
    }
  }
  return out;
}

/**
 * pkilint's issuer/subject checks (RFC 5280 name chaining, key identifiers, the signature)
 * of one certificate and the CA certificate that signed it, as "pkilint:<code>".
 */
export function pkilintPairFindings(
  tmp: TempDir,
  name: string,
  issuerDer: Buffer,
  subjectDer: Buffer,
): Finding[] {
  const issuer = tmp.file(`${fileName(name)}-issuer.der`, issuerDer);
  const subject = tmp.file(`${fileName(name)}-subject.der`, subjectDer);
  const tool = "lint_pkix_signer_signee_cert_chain";
  const r = spawnSync(
    join(PKILINT, tool),
    ["lint", "-s", "WARNING", "-f", "JSON", "--document-format", "DER", issuer, subject],
    { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
  );
  return parsePkilint(tool, r);
}
