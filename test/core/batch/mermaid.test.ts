import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  batchStates,
  MAX_LABEL,
  mermaidLabel,
  parseTaskList,
  renderMermaid,
  type Ticket,
  type TicketState,
} from "../../../src/core/batch/index.js";

const batch = (md: string): Ticket[] => parseTaskList(md, { repo: { owner: "acme", name: "shop" } }).tickets;

/** Every statement the renderer may emit; anything else means a title broke out of its label. */
const STATEMENT = [
  /^flowchart TD$/,
  /^ {2}n\d+\["[^"\n<>`%[\]{}|\\]*"\]$/,
  /^ {2}n\d+ --> n\d+$/,
  /^ {2}classDef (pending|ready|running|done|failed|blocked) [\w:#,\-. ]+$/,
  /^ {2}class n\d+(,n\d+)* (pending|ready|running|done|failed|blocked)$/,
  /^ {2}click n\d+ "https?:\/\/[^"\s]+" _blank$/,
];

function checkSyntax(out: string): void {
  expect(out.endsWith("\n")).toBe(true);
  const lines = out.trimEnd().split("\n");
  for (const line of lines)
    expect(
      STATEMENT.some((re) => re.test(line)),
      line,
    ).toBe(true);
}

const decode = (label: string) =>
  label.replace(/#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)));
const labels = (out: string) => [...out.matchAll(/^ {2}n\d+\["(.*)"\]$/gm)].map((m) => m[1] ?? "");

describe("renderMermaid", () => {
  const tickets = batch(
    [
      "- [x] #101 Spike",
      "- [ ] [db] Orders schema est: 2",
      "- [ ] [api] Orders API after [db]",
      "- [ ] https://github.com/acme/shop/issues/103 after [api], #101",
      "- [ ] Tidy the changelog",
    ].join("\n"),
  );

  it("renders nodes, dependency edges, state classes and links", () => {
    const states = batchStates(tickets, { running: ["db"], done: [], failed: [] });
    const links = new Map([
      ["#101", "https://github.com/acme/shop/issues/101"],
      ["#103", "https://github.com/acme/shop/issues/103"],
    ]);
    const out = renderMermaid(tickets, states, links);
    expect(out).toBe(
      [
        "flowchart TD",
        '  n0["#35;101 Spike"]',
        '  n1["#91;db#93; Orders schema"]',
        '  n2["#91;api#93; Orders API"]',
        '  n3["#35;103"]',
        '  n4["Tidy the changelog"]',
        "  n1 --> n2",
        "  n2 --> n3",
        "  n0 --> n3",
        "  classDef pending fill:#f6f8fa,stroke:#8c959f,color:#24292f",
        "  classDef ready fill:#ddf4ff,stroke:#0969da,color:#0a3069",
        "  classDef running fill:#fff8c5,stroke:#9a6700,color:#4d2d00",
        "  classDef done fill:#dafbe1,stroke:#1a7f37,color:#044f1e",
        "  classDef failed fill:#ffebe9,stroke:#cf222e,color:#82071e",
        "  classDef blocked fill:#eaeef2,stroke:#57606a,color:#24292f,stroke-dasharray:4 3",
        "  class n2,n3 pending",
        "  class n4 ready",
        "  class n1 running",
        "  class n0 done",
        '  click n0 "https://github.com/acme/shop/issues/101" _blank',
        '  click n3 "https://github.com/acme/shop/issues/103" _blank',
        "",
      ].join("\n"),
    );
    checkSyntax(out);
  });

  it("defaults to done for checked boxes and pending otherwise", () => {
    const out = renderMermaid(tickets, new Map());
    expect(out).toContain("  class n1,n2,n3,n4 pending\n");
    expect(out).toContain("  class n0 done\n");
    expect(out).not.toContain("click");
  });

  it("shows failed and blocked tickets", () => {
    const states = batchStates(tickets, { running: [], done: [], failed: ["db"] });
    const out = renderMermaid(tickets, states);
    expect(out).toContain("  class n1 failed\n");
    expect(out).toContain("  class n2,n3 blocked\n");
  });

  it("keeps hostile titles inside their labels", () => {
    const hostile = [
      'x"] --> n0\n  click n0 "javascript:alert(1)"',
      "<img src=x onerror=alert(1)>",
      "`**markdown**` string",
      "%%{init: {'theme': 'dark'}}%%",
      "a\u2028b\r\nc\u0000d",
      "end",
      "n0 --> n1; classDef x fill:red",
      "[[subroutine]] {rhombus} (round) |edge|",
      '&lt; #quot; \\ " entity tricks',
      "x".repeat(500),
    ];
    const ts: Ticket[] = hostile.map((title, i) => ({
      key: `k${i}`,
      ref: `k${i}`,
      kind: "text",
      title,
      deps: i > 0 ? [`k${i - 1}`] : [],
      estimate: 1,
      done: false,
      line: i + 1,
    }));
    const out = renderMermaid(ts, new Map<string, TicketState>());
    checkSyntax(out);
    expect(out.split("\n")).toHaveLength(ts.length + (ts.length - 1) + 6 + 1 + 1 + 1);
    // The text survives only as label content: no statement line outside the labels carries it.
    expect(out).not.toMatch(/^ {2}click/m);
    expect(out).not.toContain("<img");
    expect(out).not.toContain("%%");
    const decoded = labels(out).map(decode);
    expect(decoded[0]).toBe('x"] --> n0 click n0 "javascript:alert(1)"');
    expect(decoded[4]).toBe("a b c d");
    expect(Array.from(decoded[9] ?? "")).toHaveLength(MAX_LABEL);
    expect(decoded[9]?.endsWith("…")).toBe(true);
  });

  it("never emits a link that is not http(s), and encodes quotes in links", () => {
    const ts = batch("- [ ] #1\n- [ ] #2\n- [ ] #3\n- [ ] #4");
    const links = new Map([
      ["#1", "javascript:alert(1)"],
      ["#2", 'https://example.com/a"b c'],
      ["#3", "not a url"],
      ["#4", "data:text/html,<script>"],
    ]);
    const out = renderMermaid(ts, new Map(), links);
    checkSyntax(out);
    expect(out.match(/click/g)).toHaveLength(1);
    expect(out).toContain('  click n1 "https://example.com/a%22b%20c" _blank\n');
  });

  it("any title stays one label that decodes to the flattened, capped title", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 120 }), (title) => {
        const t: Ticket = {
          key: "a",
          ref: "a",
          kind: "text",
          title,
          deps: [],
          estimate: 1,
          done: false,
          line: 1,
        };
        const out = renderMermaid([t], new Map());
        checkSyntax(out);
        const [label] = labels(out);
        const decoded = decode(label ?? "");
        expect(Array.from(decoded).length).toBeLessThanOrEqual(MAX_LABEL);
        expect(decoded).not.toMatch(/[\n\r\u2028\u2029]/);
        const flat = Array.from(title, (c) => ((c.codePointAt(0) ?? 0) < 0x20 ? " " : c)).join("");
        const prefix = decoded.endsWith("…") ? decoded.slice(0, -1) : decoded;
        expect(
          flat
            .replace(/[\u007f-\u009f\u2028\u2029]/g, " ")
            .replace(/\s+/g, " ")
            .trim(),
        ).toContain(prefix);
      }),
      { numRuns: 500 },
    );
  });

  it("mermaidLabel escapes every markup character", () => {
    expect(mermaidLabel('#"<>`%[]{}|\\&')).toBe("#35;#34;#60;#62;#96;#37;#91;#93;#123;#125;#124;#92;#38;");
    expect(mermaidLabel("abcdef", 4)).toBe("abc…");
  });
});
