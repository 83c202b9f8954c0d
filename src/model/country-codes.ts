/**
 * The officially assigned ISO 3166-1 alpha-2 country codes (249), what a countryName holds
 * (RFC 5280 Appendix A: X520countryName, "PrintableString (SIZE (2))"; X.520 6.3.1: "a two-letter
 * ISO 3166 code"). Until stop 59 of 2026-12-07 any two letters were signed ("UK", "XX", "ZZ": an
 * outside probe; zlint e_subject_country_not_iso). The list as tzdata's iso3166.tab has it.
 */
const CODES = new Set(
  [
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS",
    "BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE",
    "EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM",
    "HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC",
    "LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA",
    "NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW",
    "SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO",
    "TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW",
  ]
    .join(" ")
    .split(" "),
);

/** Whether `value` is an officially assigned ISO 3166-1 alpha-2 code, in capitals. */
export const isCountryCode = (value: string): boolean => CODES.has(value);

/** What to write instead of a code often taken for one (the United Kingdom's is GB). */
export function countryCodeHint(value: string): string {
  return value.toUpperCase() === "UK" ? " (the United Kingdom's is GB)" : "";
}
