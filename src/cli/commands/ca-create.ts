/** ca create-root | create-intermediate | create-external | import */
import {
  CreateExternalIntermediateCertificateAuthorityRequest,
  CreateIntermediateCertificateAuthorityRequest,
  CreateRootCertificateAuthorityRequest,
  ImportCertificateAuthorityCertificateRequest,
} from "../../../gen/ts/certmint/v1/certificate_authority_service";
import type { Args } from "../args";
import { type CommandSpec, type OptionSection, UsageError } from "../command";
import { assertWritable, readInput, splitPem, writeFileAtomically } from "../files";
import {
  keyAlgorithmOption,
  readKeyAlgorithm,
  readSignatureAlgorithm,
  signatureAlgorithmOption,
} from "../options/algorithms";
import { NAME_CONSTRAINTS_SECTION, readNameConstraints } from "../options/name-constraints";
import { readSubject, subjectOptions } from "../options/subject";
import { parseDuration, parseInteger } from "../values";
import { caView } from "../views/ca";
import { printOne } from "../views/print";

const SLUG = { name: "SLUG", description: "the new CA's slug (lower-case letters, digits, '-')" };
const DESCRIPTION = {
  type: "string",
  value: "TEXT",
  description: "free text for operators",
} as const;
const SUBJECT_SECTION: OptionSection = { title: "Subject", specs: subjectOptions() };
const CA_OUTPUTS = ["table", "json", "pem"] as const;

function keySection(withTtl: string | undefined): OptionSection {
  return {
    title: "Key and certificate",
    specs: {
      description: DESCRIPTION,
      "key-algorithm": keyAlgorithmOption("the CA key's algorithm (default: ec-p256)"),
      "signature-algorithm": signatureAlgorithmOption(
        "what the CA signs with (default: the key's usual one)",
      ),
      ...(withTtl
        ? {
            ttl: {
              type: "string",
              value: "DURATION",
              description: `lifetime of the CA certificate (${withTtl})`,
            },
            "max-path-length": {
              type: "string",
              value: "N",
              description: "pathLenConstraint: how many CAs may follow it (default: no limit)",
            },
          }
        : {}),
    },
  };
}

function subjectOrFail(args: Args) {
  const subject = readSubject(args);
  if (!subject) throw new UsageError("give the CA a subject: at least --cn or --org");
  return subject;
}

function pathLength(args: Args): number | undefined {
  const v = args.string("max-path-length");
  return v === undefined ? undefined : parseInteger(v, "max-path-length", 0, 100);
}

function ttl(args: Args) {
  const v = args.string("ttl");
  return v === undefined ? undefined : parseDuration(v, "ttl");
}

export const caCreateRoot: CommandSpec = {
  name: "create-root",
  summary: "generate a key and a self-signed root CA certificate",
  positionals: [SLUG],
  options: [SUBJECT_SECTION, keySection("default: 10 years")],
  outputs: CA_OUTPUTS,
  examples: [
    'certmint ca create-root example-root --cn "Example Root CA" --org Example --max-path-length 1',
  ],
  async run(inv) {
    const a = inv.args;
    const res = await inv.rpc(
      inv.clients.authorities,
      "createRootCertificateAuthority",
      CreateRootCertificateAuthorityRequest.fromPartial({
        slug: a.positional(0, "SLUG"),
        description: a.string("description") ?? "",
        subject: subjectOrFail(a),
        keyAlgorithm: readKeyAlgorithm(a),
        signatureAlgorithm: readSignatureAlgorithm(a),
        ttl: ttl(a),
        maxPathLength: pathLength(a),
      }),
    );
    printOne(inv, res.certificateAuthority!, caView());
  },
};

export const caCreateIntermediate: CommandSpec = {
  name: "create-intermediate",
  summary: "generate a key and an intermediate CA certificate signed by a CA here",
  positionals: [SLUG],
  options: [
    {
      title: "Parent",
      specs: {
        parent: {
          type: "string",
          value: "CA",
          description: "the signing CA, by id or slug (required)",
        },
      },
    },
    SUBJECT_SECTION,
    keySection("default: 5 years, never past the parent's"),
    NAME_CONSTRAINTS_SECTION,
  ],
  outputs: CA_OUTPUTS,
  examples: [
    'certmint ca create-intermediate issuing --parent example-root --cn "Example Issuing CA" --permit-dns example.com',
  ],
  async run(inv) {
    const a = inv.args;
    const res = await inv.rpc(
      inv.clients.authorities,
      "createIntermediateCertificateAuthority",
      CreateIntermediateCertificateAuthorityRequest.fromPartial({
        slug: a.positional(0, "SLUG"),
        description: a.string("description") ?? "",
        parentCertificateAuthority: a.required("parent"),
        subject: subjectOrFail(a),
        keyAlgorithm: readKeyAlgorithm(a),
        signatureAlgorithm: readSignatureAlgorithm(a),
        ttl: ttl(a),
        maxPathLength: pathLength(a),
        nameConstraints: readNameConstraints(a),
      }),
    );
    printOne(inv, res.certificateAuthority!, caView());
  },
};

export const caCreateExternal: CommandSpec = {
  name: "create-external",
  summary: "generate a key and a CSR for an intermediate CA to be signed outside certmint",
  description:
    "The CA stays pending until 'certmint ca import' supplies the certificate signed outside. " +
    "The CSR goes to --csr-out, or is printed (with --output pem, alone).",
  positionals: [SLUG],
  options: [
    SUBJECT_SECTION,
    keySection(undefined),
    {
      title: "CSR",
      specs: {
        "csr-out": { type: "string", value: "FILE", description: "write the CSR (PEM) to FILE" },
        force: { type: "boolean", description: "replace FILE if it exists" },
      },
    },
  ],
  outputs: CA_OUTPUTS,
  examples: [
    'certmint ca create-external partner-issuing --cn "Example Partner CA" --csr-out partner-issuing.csr',
  ],
  async run(inv) {
    const a = inv.args;
    const csrOut = a.string("csr-out");
    // Before the CA exists (files.ts assertWritable).
    if (csrOut) assertWritable(csrOut, a.flag("force") === true);
    const res = await inv.rpc(
      inv.clients.authorities,
      "createExternalIntermediateCertificateAuthority",
      CreateExternalIntermediateCertificateAuthorityRequest.fromPartial({
        slug: a.positional(0, "SLUG"),
        description: a.string("description") ?? "",
        subject: subjectOrFail(a),
        keyAlgorithm: readKeyAlgorithm(a),
        signatureAlgorithm: readSignatureAlgorithm(a),
      }),
    );
    if (csrOut) {
      writeFileAtomically(csrOut, res.csrPem, { secret: false, force: a.flag("force") === true });
      inv.note(
        `wrote the CSR to ${csrOut}: have it signed, then run 'certmint ca import ${res.certificateAuthority!.slug} --cert FILE --chain FILE'`,
      );
    }
    printOne(inv, res.certificateAuthority!, caView());
    if (!csrOut && inv.output === "table") inv.print(`\n${res.csrPem}`);
  },
};

export const caImport: CommandSpec = {
  name: "import",
  summary: "activate a pending external CA with the certificate signed outside",
  positionals: [{ name: "CA", description: "the pending CA, by id or slug" }],
  options: [
    {
      title: "Certificates",
      specs: {
        cert: {
          type: "string",
          value: "FILE",
          description:
            "the signed CA certificate (PEM; a bundle's first certificate, the rest its chain unless --chain)",
        },
        chain: {
          type: "string",
          value: "FILE",
          description: "the chain above it, nearest first, ending with the root (PEM bundle)",
        },
      },
    },
  ],
  outputs: CA_OUTPUTS,
  examples: [
    "certmint ca import partner-issuing --cert partner-issuing.pem --chain partner-root.pem",
  ],
  async run(inv) {
    const a = inv.args;
    const certFile = a.required("cert");
    const [cert, ...rest] = splitPem(readInput(certFile, "--cert"));
    if (!cert) throw new UsageError(`--cert: ${certFile} holds no PEM certificate`);
    const chainFile = a.string("chain");
    const chain = chainFile === undefined ? rest : splitPem(readInput(chainFile, "--chain"));
    const res = await inv.rpc(
      inv.clients.authorities,
      "importCertificateAuthorityCertificate",
      ImportCertificateAuthorityCertificateRequest.fromPartial({
        certificateAuthority: a.positional(0, "CA"),
        certificatePem: cert,
        certificateChainPem: chain,
      }),
    );
    printOne(inv, res.certificateAuthority!, caView());
  },
};
