import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, scrubSecrets } from "../src/logger.js";

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, stream };
}

describe("the logger never writes secrets", () => {
  it("redacts secret-bearing keys", () => {
    const { lines, stream } = capture();
    const log = createLogger({ destination: stream });
    log.info(
      {
        token: "ghs_abcdefghijklmnopqrstuvwxyz123456",
        headers: { authorization: "token abc" },
        env: { ANTHROPIC_API_KEY: "sk-ant-xyz" },
      },
      "dispatching",
    );
    const out = lines.join("");
    expect(out).toContain("dispatching");
    expect(out).not.toContain("ghs_abcdefghijklmnopqrstuvwxyz123456");
    expect(out).not.toContain("token abc");
    expect(out).not.toContain("sk-ant-xyz");
    expect(out).toContain("[REDACTED]");
  });

  it("masks credentials hidden in messages and error strings", () => {
    const { lines, stream } = capture();
    const log = createLogger({ destination: stream });
    log.warn(
      { err: "request failed: Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.payload.sig" },
      "effect failed",
    );
    log.error(
      "cannot connect to postgres://trellis:hunter2@db:5432/trellis with ghp_0123456789abcdefghijABCDEFGHIJ",
    );
    const out = lines.join("");
    expect(out).not.toMatch(/hunter2|ghp_0123456789|eyJhbGciOiJSUzI1NiJ9/);
    expect(out).toContain("postgres://trellis:[REDACTED]@db:5432/trellis");
  });

  it("logs circular objects (Probot logs raw requests) without crashing, still scrubbed", () => {
    const { lines, stream } = capture();
    const log = createLogger({ destination: stream });
    const req: Record<string, unknown> = { url: "/?token=ghs_abcdefghijklmnopqrstuvwxyz123456" };
    req.self = req;
    expect(() => log.info({ req }, "request")).not.toThrow();
    expect(lines.join("")).not.toContain("ghs_abcdefghijklmnopqrstuvwxyz123456");
  });

  it("scrubs private keys and Anthropic keys in free text", () => {
    const text =
      "key -----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY----- and sk-ant-api03-abcdefghijkl";
    expect(scrubSecrets(text)).toBe("key [REDACTED] and [REDACTED]");
  });
});
