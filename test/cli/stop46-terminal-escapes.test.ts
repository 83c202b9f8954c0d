/**
 * What any caller's text can do to the admin's terminal (stop 46 of 2026-12-06, an outside
 * probe): an issuer token's refused calls store their input (a refused revocation's certificate
 * reference is the audit record's resource id, a refused request keeps its subject), an admin
 * writes a token's description, and every CLI view printed those raw: OSC set the window
 * title, CSI erased the line, CR went back to its start, and a fake green "APPROVED" was
 * painted; the bidi override U+202E reversed the rest of a line. Every view now goes through
 * one sanitizer (src/cli/output.ts terminalText) that shows such characters as \uXXXX.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../gen/ts/certmint/v1/access_token_service";
import {
  IssueCertificateRequest,
  RevokeCertificateRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
import { type CliSession, cliSession, ok, runCli } from "./cli";

/** The probe's payload: window title, erase line, carriage return, a green "APPROVED". */
const ESCAPES = "\u001b]0;pwned title\u0007\u001b[2K\r\u001b[32mAPPROVED by security team\u001b[0m";
/** Bidi override and isolates, zero-width, BOM, line/paragraph separators, C1 NEL and CSI, DEL, BS. */
const INVISIBLES = "a\u202eb\u2066c\u2069d\u200be\ufeff\u2028f\u2029g\u0085h\u009bi\u007fj\bk";

/** Every character a terminal acts on or hides, but the line feeds that end lines. */
const RAW = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
const rawIn = (text: string) => RAW.exec(text.replaceAll("\n", ""))?.[0];

/** What the sanitizer prints for `s`: each unsafe character as its \uXXXX JSON escape. */
const shown = (s: string) =>
  s.replace(
    /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );

describe("the CLI escapes control, bidi and zero-width characters that came from the server", () => {
  let h: TestCertmint;
  let admin: CliSession;
  let requestRowId: string;

  beforeAll(async () => {
    h = await startTestCertmint();
    admin = cliSession(h.address, h.dataDir);
    ok(await admin.run(["ca", "create-root", "root", "--cn", "Escape Root"]));
    ok(
      await admin.run([
        "profile",
        "create",
        "web",
        "--ca",
        "root",
        "--preset",
        "tls-server",
        "--allow-dns",
        "**.example.com",
      ]),
    );
    const created = await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: {
          slug: "planter",
          role: Role.ROLE_ISSUER,
          certificateProfiles: ["web"],
        },
      }),
    );
    // A description stored before stop 46 of 2026-12-06: such text is refused at input since
    // (api/request-check.ts freeTextProblem, test/api/stop46f-free-text.test.ts), but rows
    // written before stay, and the CLI must still print them escaped.
    await h.db.query("update access_token set description = $1 where slug = 'planter'", [
      `team ${INVISIBLES} ${ESCAPES}`,
    ]);
    const issuer = h.clientsAs(created.secret);
    // 1. Refused (an issuer may not revoke what it does not own / is not there): audited.
    await expectRpcError(
      call(
        issuer.certificates,
        "revokeCertificate",
        RevokeCertificateRequest.fromPartial({ certificate: `x${ESCAPES}` }),
      ),
    );
    // 2. Refused by policy (a subject with controls): stored as a FAILED request.
    await expectRpcError(
      call(
        issuer.certificates,
        "issueCertificate",
        IssueCertificateRequest.fromPartial({
          certificateProfile: "web",
          requestId: "escapes-1",
          source: {
            $case: "attributes",
            value: {
              subject: {
                commonName: "z.example.com",
                organization: [`o${ESCAPES}`],
                organizationalUnit: [INVISIBLES],
              },
              subjectAlternativeNames: { dnsNames: ["z.example.com"] },
            },
          },
        }),
      ),
    );
    const stored = await h.db.query<{
      id: string;
      status: string;
      subject: unknown;
      request_id: string;
    }>(
      "select id, status, subject, request_id from certificate_request where request_id = 'escapes-1'",
    );
    expect(stored).toHaveLength(1);
    expect(stored[0]!.status).toBe("FAILED");
    expect(JSON.stringify(stored[0]!.subject)).toContain(JSON.stringify(ESCAPES).slice(1, -1));
    requestRowId = stored[0]!.id;
    const audited = await h.db.query<{ n: string }>(
      "select count(*) as n from audit_record where position($1 in resource_id) > 0",
      [ESCAPES],
    );
    expect(audited[0]!.n).toBe("1");
  });
  afterAll(async () => {
    admin?.remove();
    await h?.stop();
  });

  it("audit list (table): the refused call's resource is shown escaped, never raw", async () => {
    const out = ok(await admin.run(["audit", "list", "--failures-only"])).stdout;
    expect(rawIn(out)).toBeUndefined();
    expect(out).toContain(`certificate x${shown(ESCAPES)}`);
    expect(out).toContain("\\u001b]0;pwned title\\u0007\\u001b[2K\\u000d\\u001b[32mAPPROVED");
  });

  it("--output json: valid JSON, no raw C1, bidi or zero-width character, decoding to the stored text", async () => {
    const audit = ok(await admin.run(["audit", "list", "--failures-only", "-o", "json"]));
    expect(rawIn(audit.stdout)).toBeUndefined();
    const records = (JSON.parse(audit.stdout) as { auditRecords: Array<{ resourceId: string }> })
      .auditRecords;
    expect(records.map((a) => a.resourceId)).toContain(`x${ESCAPES}`);
    // JSON.stringify escapes C0 but leaves C1, U+2028/9, bidi and zero-width characters raw.
    const requests = ok(await admin.run(["request", "list", "--all", "-o", "json"]));
    expect(rawIn(requests.stdout)).toBeUndefined();
    expect(requests.stdout).toContain("a\\u202eb\\u2066c");
    const parsed = JSON.parse(requests.stdout) as {
      certificateRequests: Array<{ id: string; subject: { organizationalUnit: string[] } }>;
    };
    const failed = parsed.certificateRequests.find((r) => r.id === requestRowId);
    expect(failed?.subject.organizationalUnit).toEqual([INVISIBLES]);
  });

  it("request list --all and request status: the failed request's subject is escaped", async () => {
    const list = ok(await admin.run(["request", "list", "--all"])).stdout;
    expect(rawIn(list)).toBeUndefined();
    expect(list).toContain(`O=o${shown(ESCAPES)}`);
    expect(list).toContain(
      "a\\u202eb\\u2066c\\u2069d\\u200be\\ufeff\\u2028f\\u2029g\\u0085h\\u009bi\\u007fj\\u0008k",
    );
    // One table row per request: the CR and the LF-free escapes leave the row on its line.
    expect(list.split("\n").filter((l) => l.includes(requestRowId))).toHaveLength(1);

    const one = ok(await admin.run(["request", "status", requestRowId]));
    expect(rawIn(one.stdout)).toBeUndefined();
    expect(rawIn(one.stderr)).toBeUndefined();
    expect(one.stdout).toContain(shown(ESCAPES));
    expect(one.stdout).toMatch(/^status: +failed$/m);
  });

  it("token get: the description is escaped, line separators included", async () => {
    const out = ok(await admin.run(["token", "get", "planter"])).stdout;
    expect(rawIn(out)).toBeUndefined();
    expect(out).toMatch(/^description: +team a\\u202eb\\u2066c/m);
    expect(out).toContain(shown(ESCAPES));
    const asJson = ok(await admin.run(["token", "get", "planter", "-o", "json"])).stdout;
    expect(rawIn(asJson)).toBeUndefined();
    expect(JSON.parse(asJson).description).toBe(`team ${INVISIBLES} ${ESCAPES}`);
  });

  it("stderr too: a usage error quoting the user's argument shows its escapes", async () => {
    const r = await runCli(["token", "get", `--no${ESCAPES}`]);
    expect(r.code).toBe(2);
    expect(rawIn(r.stderr)).toBeUndefined();
    expect(r.stderr).toContain("\\u001b]0;pwned title");
  });
});
