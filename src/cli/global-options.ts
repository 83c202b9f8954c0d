import type { OptionSection, OptionSpecs, OutputFormat } from "./command";

/** Where certmint is and how to authenticate to it: accepted by every command. */
export const CONNECTION_OPTIONS: OptionSpecs = {
  server: {
    type: "string",
    value: "HOST:PORT",
    description: "certmint's gRPC address (default: $CERTMINT_SERVER, else 127.0.0.1:50051)",
  },
  tls: {
    type: "boolean",
    description:
      "use TLS on a loopback address too (TLS is the default for every other address); " +
      "the system's trusted CAs verify the server unless --ca-file is given",
  },
  "ca-file": {
    type: "string",
    value: "FILE",
    description: "PEM CA certificates the server's TLS certificate must chain to (implies TLS)",
  },
  "cert-file": {
    type: "string",
    value: "FILE",
    description: "PEM client certificate for mTLS, with --key-file (implies TLS)",
  },
  "key-file": {
    type: "string",
    value: "FILE",
    description: "the unencrypted PEM private key of --cert-file",
  },
  "tls-server-name": {
    type: "string",
    value: "NAME",
    description: "the name the server's certificate must carry (default: the host of --server)",
  },
  insecure: {
    type: "boolean",
    description:
      "plaintext, no TLS (the default only for loopback addresses: 127.0.0.0/8, ::1, localhost)",
  },
  "token-file": {
    type: "string",
    value: "FILE",
    description:
      "a file holding the access token (default: $CERTMINT_TOKEN, else, for a loopback server " +
      "without --cert-file, the data directory's admin-token)",
  },
  "data-dir": {
    type: "string",
    value: "DIR",
    description:
      "the local server's data directory, whose admin-token is used for a loopback server " +
      "(default: $CERTMINT_DATA_DIR, else ./data)",
  },
  timeout: {
    type: "string",
    value: "DURATION",
    description: "how long each call may take (default: 60s)",
  },
};

export const HELP_OPTION: OptionSpecs = {
  help: { type: "boolean", short: "h", description: "show this help" },
  version: { type: "boolean", description: "print this program's version and exit" },
};

export const GLOBAL_SECTIONS: readonly OptionSection[] = [
  { title: "Connection", specs: CONNECTION_OPTIONS },
  { title: "Help", specs: HELP_OPTION },
];

/** --output, with the formats a command supports; the first is the default. */
export function outputSection(outputs: readonly OutputFormat[]): OptionSection {
  return {
    title: "Output",
    specs: {
      output: {
        type: "string",
        short: "o",
        value: "FORMAT",
        description: `how to print the result (default: ${outputs[0]})`,
        choices: outputs,
      },
    },
  };
}

export const DEFAULT_OUTPUTS: readonly OutputFormat[] = ["table", "json"];
