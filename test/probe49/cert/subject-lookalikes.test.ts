/**
 * Probe 49 (CERT): a denied subject value must not pass by an invisible or compatibility
 * character: "Evil Corp" spelled with a soft hyphen, a combining grapheme joiner, a variation
 * selector, a Hangul filler, a tag character or fullwidth letters reads as "Evil Corp" in every
 * viewer. Each must be refused (on its subject field) or matched by the denial; none signed.
 * The same characters after "evil.org " must not turn the stop-43 refusal of a CN that ends in
 * white space (README "Policies") back into free text signed past the DNS rules.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import { expectRpcError } from "../../support/harness";
import {
  attributesRequest,
  certificateCount,
  createPolicy,
  createProfile,
  createRootCa,
  issueCertificate,
  type LiveCertmint,
  startLive,
} from "./live";

// Each invisible character sits inside "Evil", so only a comparison that drops it (or a
// refusal) can catch the value. Default_Ignorable_Code_Point characters outside the format
// category (Cf): U+034F, the variation selectors and Mongolian FVS are nonspacing marks (Mn),
// the Hangul fillers letters (Lo); nothing shows them.
const SPELLINGS: Array<[string, string]> = [
  ["a soft hyphen (U+00AD, Cf)", "E\u00advil Corp"],
  ["a word joiner (U+2060, Cf)", "E\u2060vil Corp"],
  ["a tag character (U+E0041, Cf)", "E\u{e0041}vil Corp"],
  ["a Mongolian vowel separator (U+180E, Cf)", "E\u180evil Corp"],
  ["a combining grapheme joiner (U+034F, Mn)", "E\u034fvil Corp"],
  ["a variation selector (U+FE0F, Mn)", "E\ufe0fvil Corp"],
  ["a supplementary variation selector (U+E0100, Mn)", "E\u{e0100}vil Corp"],
  ["a Mongolian free variation selector (U+180B, Mn)", "E\u180bvil Corp"],
  ["a Khmer inherent vowel (U+17B4, Mn)", "E\u17b4vil Corp"],
  ["a Hangul filler (U+3164, Lo)", "E\u3164vil Corp"],
  ["a Hangul choseong filler (U+115F, Lo)", "E\u115fvil Corp"],
  ["a halfwidth Hangul filler (U+FFA0, Lo)", "E\uffa0vil Corp"],
  ["fullwidth letters", "\uff25\uff56\uff49\uff4c Corp"],
  ["mathematical bold letters", "\u{1d404}\u{1d42f}\u{1d422}\u{1d425} Corp"],
  ["a no-break space", "Evil\u00a0Corp"],
];

describe("probe49 cert: look-alike subject values", () => {
  let live: LiveCertmint;

  beforeAll(async () => {
    live = await startLive();
    await createRootCa(live, "root", KeyAlgorithm.KEY_ALGORITHM_EC_P256);
    await createPolicy(live, "web", {
      sanRules: { dns: { allowed: ["**.example.com"] } },
      subjectRules: {
        commonName: { allowed: ["*"] },
        organization: { allowed: ["*"], denied: ["*Evil Corp*"] },
      },
    });
    await createProfile(live, "web", "web", { ca: "root" });
  });

  afterAll(async () => {
    await live?.stop();
  });

  it("the plain denied value is refused", async () => {
    const e = await expectRpcError(issueWithOrganization("Evil Corp"));
    expect(e.code).toBe(3);
  });

  it.each(SPELLINGS)("an organization spelled with %s is refused", async (_what, value) => {
    const before = await certificateCount(live.db);
    const e = await expectRpcError(issueWithOrganization(value));
    expect(e.code, e.message).toBe(3);
    expect(e.violations.map((v) => v.field).join(), e.message).toMatch(/organization/);
    expect(await certificateCount(live.db)).toBe(before);
  });

  // A CN with an invisible mark inside a host name is not a valid host name, so it is free
  // text and meets its subject rule ("*") only: signed past the DNS rules (and a CA's name
  // constraints), while every viewer shows "evil.org", as "evil.org " showed before stop 43.
  it.each([
    ["U+034F", "evil\u034f.org"],
    ["U+FE0F", "evil.or\ufe0fg"],
    ["U+3164", "evil\u3164.org"],
  ])("a CN that shows as evil.org with %s inside is refused", async (_what, cn) => {
    await expectCommonNameRefused(cn);
  });

  // The stop-43 case ("evil.org " signed as free text, read as evil.org by whatever trims it)
  // with the trailing white space followed by an invisible character, so it no longer ends in
  // white space: free text again, signed without a SAN past the DNS rules.
  it.each([
    ["U+034F", "evil.org \u034f"],
    ["U+3164", "evil.org \u3164"],
    ["U+FE0F", "evil.org \ufe0f"],
    // Not default-ignorable, but a blank glyph (So): the same reading.
    ["U+2800 (Braille blank)", "evil.org \u2800"],
  ])("a CN reading 'evil.org ' followed by an invisible %s is refused", async (_what, cn) => {
    await expectCommonNameRefused(cn);
  });

  /** INVALID_ARGUMENT for a CN with a SAN the policy allows, and no certificate stored. */
  async function expectCommonNameRefused(cn: string) {
    const before = await certificateCount(live.db);
    const e = await expectRpcError(issueWithSubject({ commonName: cn }, "a.example.com"));
    expect(e.code, e.message).toBe(3);
    expect(await certificateCount(live.db)).toBe(before);
  }

  function issueWithOrganization(organization: string) {
    return issueWithSubject(
      { commonName: "o.example.com", organization: [organization] },
      "o.example.com",
    );
  }

  function issueWithSubject(subject: { commonName: string; organization?: string[] }, dns: string) {
    return issueCertificate(live, attributesRequest("web", { subject, sans: { dnsNames: [dns] } }));
  }
});
