/** Key and signature algorithm options, shared by CA, profile and certificate commands. */
import type { Args } from "../args";
import type { OptionSpec } from "../command";
import { KEY_ALGORITHM, SIGNATURE_ALGORITHM } from "../enums";

export function keyAlgorithmOption(description: string): OptionSpec {
  return { type: "string", value: "ALG", description, choices: KEY_ALGORITHM.choices };
}

export function signatureAlgorithmOption(description: string): OptionSpec {
  return { type: "string", value: "ALG", description, choices: SIGNATURE_ALGORITHM.choices };
}

/** The KeyAlgorithm of --NAME; 0 (unspecified) when not given. */
export function readKeyAlgorithm(args: Args, name = "key-algorithm"): number {
  const v = args.string(name);
  return v === undefined ? 0 : KEY_ALGORITHM.parse(v, name);
}

export function readSignatureAlgorithm(args: Args, name = "signature-algorithm"): number {
  const v = args.string(name);
  return v === undefined ? 0 : SIGNATURE_ALGORITHM.parse(v, name);
}
