import { describe, expect, it } from "vitest";
import { REDACTED, scrubAgentText, scrubResult, scrubSecrets } from "../../src/core/secrets.js";
import type { AgentResult } from "../../src/core/result.js";

// Shapes only, none of them real.
const KEYS = {
  anthropic: "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-AbCd",
  installation: "ghs_16C7e42F292c6912E7710c838347Ae178B4a",
  classic: "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
  oauth: "gho_16C7e42F292c6912E7710c838347Ae178B4a",
  user: "ghu_16C7e42F292c6912E7710c838347Ae178B4a",
  refresh: "ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9Dc86A1498",
  fineGrained: "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456",
  jwt: "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJydW5uZXIiLCJhY2lkIjoiMTIzIn0.c2lnbmF0dXJlLXBhcnQtb2YtdGhlLWp3dA",
};
const PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----";

describe("scrubSecrets", () => {
  it.each(Object.entries(KEYS))("masks a %s token wherever it sits", (_kind, key) => {
    const out = scrubSecrets(`key=${key}, then more`);
    expect(out).not.toContain(key);
    expect(out).toBe(`key=${REDACTED}, then more`);
    expect(scrubSecrets(`x${key}`)).not.toContain(key.slice(4)); // no word boundary to hide behind
  });

  it("masks PEM private keys, terminated or not", () => {
    expect(scrubSecrets(`a ${PEM} b`)).toBe(`a ${REDACTED} b`);
    expect(scrubSecrets("a -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk")).toBe(`a ${REDACTED}`);
    expect(scrubSecrets(`${PEM}\nmid\n${PEM}`)).toBe(`${REDACTED}\nmid\n${REDACTED}`);
  });

  it("leaves ordinary text alone", () => {
    const text = "ghp_ is the prefix of classic tokens; sk-ant- of Anthropic keys; eyJ starts a JWT.";
    expect(scrubSecrets(text)).toBe(text);
  });

  it("runs in linear time on a flood of near-misses", () => {
    const time = (n: number): number => {
      const input = "-----BEGIN PRIVATE KEY-----eyJab.".repeat(n / 32);
      const start = performance.now();
      scrubSecrets(input);
      return performance.now() - start;
    };
    const small = Math.max(time(1e5), 1);
    expect(time(1e6) / small).toBeLessThan(40);
  });
});

describe("scrubAgentText", () => {
  it("sees through invisible characters and entity-spelled letters", () => {
    const split = `${KEYS.installation.slice(0, 10)}\u200B${KEYS.installation.slice(10)}`;
    expect(scrubAgentText(split)).toBe(REDACTED);
    expect(scrubAgentText(`gh&#112;_${KEYS.classic.slice(4)}`)).toBe(REDACTED);
    expect(scrubAgentText("5 &#60; 6")).toBe("5 &#60; 6"); // not a token character: left as written
  });

  it("masks the job's own secrets whatever their shape", () => {
    expect(scrubAgentText("the key is hunter2-secret-value", ["hunter2-secret-value"])).toBe(
      `the key is ${REDACTED}`,
    );
  });
});

describe("scrubResult", () => {
  it("scrubs every agent-written string of a result", () => {
    const leak = `${KEYS.anthropic} ${KEYS.installation}`;
    const result: AgentResult = {
      version: 1,
      attemptId: "att_0000000001",
      stage: "dev",
      profile: "dev",
      status: "failed",
      summary: leak,
      reason: leak,
      question: leak,
      refined: leak,
      review: { verdict: "request_changes", comments: leak },
      filesChanged: ["src/a.ts"],
      criteria: [{ criterion: "tests_pass", passed: false, detail: leak }],
      tests: { passed: 0, failed: 1, skipped: 0, failures: [{ name: leak, message: leak }] },
      scenarios: [
        {
          name: leak,
          feature: leak,
          file: "a.feature",
          line: 1,
          status: "failed",
          failedStep: { text: leak, line: 2, message: leak },
        },
      ],
      annotations: [
        { path: "a.ts", start_line: 1, end_line: 1, annotation_level: "failure", message: leak, title: leak },
      ],
      costUsd: 0,
      tokens: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
      turns: 0,
      durationMs: 0,
    };
    const json = JSON.stringify(scrubResult(result));
    expect(json).not.toContain(KEYS.anthropic);
    expect(json).not.toContain(KEYS.installation);
    expect(scrubResult(result).filesChanged).toEqual(["src/a.ts"]);
  });
});
