/** tr46 (jsdom/tr46, pinned in package.json) ships no types; these are the two functions we call. */
declare module "tr46" {
  export interface Uts46Options {
    checkHyphens?: boolean;
    checkBidi?: boolean;
    checkJoiners?: boolean;
    useSTD3ASCIIRules?: boolean;
    verifyDNSLength?: boolean;
    transitionalProcessing?: boolean;
    ignoreInvalidPunycode?: boolean;
  }
  /** UTS #46 ToASCII; null when the domain is invalid under the options. */
  export function toASCII(domain: string, options?: Uts46Options): string | null;
  /** UTS #46 ToUnicode; `error` is true when the domain is invalid under the options. */
  export function toUnicode(
    domain: string,
    options?: Omit<Uts46Options, "verifyDNSLength">,
  ): { domain: string; error: boolean };
}
