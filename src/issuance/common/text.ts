/** True when s holds ASCII control characters (C0 or DEL), which no name or key may carry. */
export function hasControlCharacters(s: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  return /[\u0000-\u001f\u007f]/.test(s);
}
