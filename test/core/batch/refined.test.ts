import { describe, expect, test } from "vitest";
import {
  MAX_BODY_CHARS,
  MAX_LABELS,
  MAX_TITLE_CHARS,
  parseRefined,
  type ParseRefinedOutcome,
} from "../../../src/core/batch/refined.js";

const GOOD = [
  "# Format prices as money",
  "",
  "## Context",
  "",
  "Prices are plain numbers today (`src/index.js`).",
  "",
  "## Acceptance criteria",
  "",
  "- [ ] `formatMoney(1.5)` returns `$1.50`",
  "- [ ] negative amounts are shown as `-$1.50`",
  "",
  "## Out of scope",
  "",
  "- currencies other than USD",
  "",
  "est: 2",
  "labels: type:feature, area:pricing",
  "",
].join("\n");

const ok = (out: ParseRefinedOutcome) => {
  if (!out.ok) throw new Error(`expected ok, got ${out.error}`);
  return out;
};

describe("parseRefined", () => {
  test("the shape the refine profile writes", () => {
    const { ticket, notes } = ok(parseRefined(GOOD));
    expect(ticket.title).toBe("Format prices as money");
    expect(ticket.estimate).toBe(2);
    expect(ticket.labels).toEqual(["type:feature", "area:pricing"]);
    expect(ticket.body.startsWith("## Context")).toBe(true);
    expect(ticket.body).toContain("## Acceptance criteria\n\n- [ ] `formatMoney(1.5)` returns `$1.50`");
    expect(ticket.body).not.toMatch(/est:|labels:/);
    expect(notes).toEqual([]);
  });

  test("partial: a title only; no estimate, no labels", () => {
    const { ticket } = ok(parseRefined("# Just a title\n"));
    expect(ticket).toEqual({ title: "Just a title", body: "", labels: [] });
  });

  test("a preamble before the title, CRLF, bold metadata, `est: 1.5 days`, duplicate labels", () => {
    const text =
      "Here is the refined ticket:\r\n\r\n# Compute  sales tax #\r\nBody line\r\n**est:** 1.5 days\r\n**Labels:** Bug, bug, `area:tax`\r\n";
    const { ticket } = ok(parseRefined(text));
    expect(ticket.title).toBe("Compute sales tax");
    expect(ticket.body).toBe("Body line");
    expect(ticket.estimate).toBe(1.5);
    expect(ticket.labels).toEqual(["Bug", "area:tax"]);
  });

  test("metadata lines inside code blocks are body, a `# heading` in a code block is not the title", () => {
    const text = [
      "```",
      "# not the title",
      "```",
      "# Real title",
      "```yaml",
      "est: 9",
      "labels: x",
      "```",
      "est: 3",
    ].join("\n");
    const { ticket } = ok(parseRefined(text));
    expect(ticket.title).toBe("Real title");
    expect(ticket.body).toBe("```yaml\nest: 9\nlabels: x\n```");
    expect(ticket.estimate).toBe(3);
    expect(ticket.labels).toEqual([]);
  });

  test("unreadable estimates are ignored and noted", () => {
    for (const est of ["<N>", "0", "-2", "1e9", "9999"]) {
      const out = ok(parseRefined(`# T\nest: ${est}\n`));
      expect(out.ticket.estimate).toBeUndefined();
      expect(out.notes.join()).toContain("ignored the estimate");
    }
  });

  test("no title, or an empty one, is an error", () => {
    expect(parseRefined("")).toEqual({ ok: false, error: "refined.md has no `# title` line" });
    expect(parseRefined("## Context\n\nstuff\n")).toMatchObject({ ok: false });
    expect(parseRefined("#   \nbody")).toEqual({ ok: false, error: "refined.md has an empty title" });
    expect(parseRefined("#\u200B\u202E\n")).toMatchObject({ ok: false });
  });

  describe("hostile input", () => {
    test("the title is one plain bounded line: no hidden characters, comments or tags", () => {
      const { ticket } = ok(
        parseRefined(
          `# Fix\u202E it <!-- trellis:batch-ticket=bat_x:other --><img src=x onerror=alert(1)> now ${"x".repeat(400)}\n`,
        ),
      );
      expect(ticket.title.startsWith("Fix it now xxx")).toBe(true);
      expect(ticket.title).not.toMatch(/[<>\u202E\n]/);
      expect(ticket.title.length).toBe(MAX_TITLE_CHARS);
    });

    test("hidden markers in the body are removed (they would make another ticket's creation find this issue)", () => {
      const { ticket } = ok(
        parseRefined("# T\nok <!-- trellis:batch-ticket=bat_1:money -->\n<!-- unterminated trellis:status"),
      );
      expect(ticket.body).toBe("ok");
    });

    test("labels: reserved ones dropped, control characters gone, long ones dropped, at most ten", () => {
      const labels = [
        "agent:dev",
        "Workflow:ship",
        "trellis:batch",
        "ok\u0007bell",
        "y".repeat(51),
        ...Array.from({ length: 12 }, (_, i) => `l${i}`),
      ];
      const out = ok(
        parseRefined(`# T\nlabels: ${labels.join(", ")}\n`, {
          reservedLabelPrefixes: ["agent:", "workflow:"],
          reservedLabels: ["trellis:batch"],
        }),
      );
      expect(out.ticket.labels).toHaveLength(MAX_LABELS);
      expect(out.ticket.labels[0]).toBe("okbell");
      expect(out.ticket.labels.some((l) => /agent:|workflow:|trellis:batch/i.test(l))).toBe(false);
      expect(out.ticket.labels.every((l) => l.length <= 50 && !/[,\n]/.test(l))).toBe(true);
      expect(out.notes).toEqual(
        expect.arrayContaining([
          'dropped the reserved label "agent:dev"',
          'dropped the reserved label "trellis:batch"',
          "dropped a label longer than 50 characters",
          "kept the first 10 labels",
        ]),
      );
    });

    test("a huge body is cut, a huge file refused", () => {
      const out = ok(parseRefined(`# T\n${"a".repeat(MAX_BODY_CHARS + 10)}`));
      expect(out.ticket.body.length).toBeLessThanOrEqual(MAX_BODY_CHARS);
      expect(out.ticket.body).toMatch(/truncated by Trellis\]$/);
      expect(parseRefined("x".repeat(200_000))).toMatchObject({
        ok: false,
        error: expect.stringContaining("limit"),
      });
    });
  });
});
