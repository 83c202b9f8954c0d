/**
 * Input quoted in an error message is at most 64 characters (README, Errors). Until stop 40 of
 * 2026-12-05 the policy engine quoted up to 200 characters of a refused name (an outside probe).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  attrRequest,
  Code,
  call,
  createProfileRows,
  createRoot,
  rpcError,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";

let h: TestCertmint;

beforeAll(async () => {
  h = await startTestCertmint();
  const root = await createRoot(h, "root");
  await createProfileRows(h, { caId: root.id, slug: "web" });
});
afterAll(async () => {
  await h?.stop();
});

it("a refused 200-character name is quoted in at most 64 characters, in the message and each violation", async () => {
  const label = "z".repeat(60);
  const name = `${[label, label, label].join(".")}.not-allowed.org`;
  const err = await rpcError(
    call(
      h.certificates,
      "issueCertificate",
      attrRequest("web", { cn: "ok.example.com", dns: [name] }),
    ),
  );
  expect(err.code).toBe(Code.INVALID_ARGUMENT);
  const texts = [err.message, ...err.violations.map((v) => v.description)];
  const quotes = texts.flatMap((t) => [...t.matchAll(/"(z{10,}[^"]*)"/g)].map((m) => m[1]!));
  expect(quotes.length).toBeGreaterThan(0);
  for (const q of quotes) expect([...q].length).toBeLessThanOrEqual(64);
  expect(texts.join(" ")).not.toContain(name);
});
