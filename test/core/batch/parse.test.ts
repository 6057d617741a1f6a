import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  findTicketCycles,
  MAX_BYTES,
  parseTaskList,
  validateBatch,
  type Ticket,
} from "../../../src/core/batch/index.js";

const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/batches/${name}`, import.meta.url), "utf8");
const only = (markdown: string): Ticket => {
  const { tickets, errors } = parseTaskList(markdown);
  expect(errors).toEqual([]);
  expect(tickets).toHaveLength(1);
  return tickets[0] as Ticket;
};

describe("parseTaskList: ticket forms", () => {
  it("reads a short issue reference with a title", () => {
    expect(only("- [ ] #123 Fix the login")).toMatchObject({
      key: "#123",
      ref: "#123",
      kind: "issue",
      issue: { number: 123 },
      title: "Fix the login",
      deps: [],
      estimate: 1,
      done: false,
      line: 1,
    });
  });

  it("reads qualified references and issue URLs, keyed by repository", () => {
    const { tickets } = parseTaskList(
      "- [ ] octo/cat#5\n- [ ] https://github.com/Octo/Dog/issues/6 Walk it\n- [ ] https://github.com/octo/cat/pull/7",
    );
    expect(tickets.map((t) => [t.key, t.ref, t.title])).toEqual([
      ["octo/cat#5", "octo/cat#5", ""],
      ["octo/dog#6", "Octo/Dog#6", "Walk it"],
      ["octo/cat#7", "octo/cat#7", ""],
    ]);
    expect(tickets[1]?.issue).toEqual({ owner: "Octo", repo: "Dog", number: 6 });
  });

  it("treats references to the tracking issue's own repository as short references", () => {
    const { tickets } = parseTaskList(
      "- [ ] Acme/Shop#5\n- [ ] https://github.com/acme/shop/issues/6 after #5",
      {
        repo: { owner: "acme", name: "shop" },
      },
    );
    expect(tickets.map((t) => [t.key, t.ref, t.deps])).toEqual([
      ["#5", "#5", []],
      ["#6", "#6", ["#5"]],
    ]);
  });

  it("reads bracket keys and plain raw text", () => {
    const { tickets } = parseTaskList("- [ ] [api] Build the REST API\n\n- [ ] Write the release notes");
    expect(tickets.map((t) => [t.key, t.ref, t.kind, t.title, t.line])).toEqual([
      ["api", "api", "keyed", "Build the REST API", 1],
      ["t3", "t3", "text", "Write the release notes", 3],
    ]);
  });

  it("accepts -, * and + bullets, ordered lists, any indentation, and [x]/[X] as done", () => {
    const { tickets } = parseTaskList(
      ["- [ ] [a] one", "* [x] [b] two", "  + [X] [c] three", "1. [ ] [d] four", "\t- [ ] [e] five"].join(
        "\n",
      ),
    );
    expect(tickets.map((t) => [t.key, t.done])).toEqual([
      ["a", false],
      ["b", true],
      ["c", true],
      ["d", false],
      ["e", false],
    ]);
  });

  it("ignores non-task lines, fenced code blocks (``` and ~~~) and HTML comments", () => {
    const md = [
      "- plain bullet",
      "- [] not a box",
      "```",
      "- [ ] [code] inside",
      "```",
      "~~~~ md",
      "- [ ] [tilde] inside",
      "```",
      "- [ ] [still] inside: a ``` fence cannot close a ~~~~ fence",
      "~~~~",
      "<!-- - [ ] [c1] hidden -->",
      "<!--",
      "- [ ] [c2] hidden",
      "-->",
      "- [ ] [real] <!-- note --> visible",
    ].join("\n");
    const { tickets } = parseTaskList(md);
    expect(tickets.map((t) => [t.key, t.title, t.line])).toEqual([["real", "visible", 15]]);
  });

  it("reads tickets inside GitHub ```[tasklist] blocks", () => {
    const md = [
      "```[tasklist]",
      "### Tasks",
      "- [ ] #12",
      "- [x] #13 after #12",
      "```",
      "- [ ] [after] outside",
    ].join("\n");
    const { tickets } = parseTaskList(md);
    expect(tickets.map((t) => [t.key, t.done, t.deps, t.line])).toEqual([
      ["#12", false, [], 3],
      ["#13", true, ["#12"], 4],
      ["after", false, [], 6],
    ]);
  });

  it("does not take a Markdown link at the start for a key, nor an empty task for a ticket", () => {
    const { tickets } = parseTaskList("- [ ] [docs](https://example.com) read them\n- [ ]\n- [ ]   ");
    expect(tickets).toHaveLength(1);
    expect(tickets[0]).toMatchObject({ kind: "text", title: "[docs](https://example.com) read them" });
  });

  it("handles CRLF line endings", () => {
    const { tickets } = parseTaskList("- [ ] [a] one\r\n- [ ] [b] two after [a]\r\n");
    expect(tickets.map((t) => [t.key, t.title, t.deps, t.line])).toEqual([
      ["a", "one", [], 1],
      ["b", "two", ["a"], 2],
    ]);
  });
});

describe("parseTaskList: dependencies and estimates", () => {
  it.each([
    ["depends on #1", ["#1"]],
    ["Depends On #1, #2 and #3", ["#1", "#2", "#3"]],
    ["blocked by [db], [api], and #4", ["db", "api", "#4"]],
    ["after [db] & [api]", ["db", "api"]],
    ["after: octo/cat#9", ["octo/cat#9"]],
    ["BLOCKED BY https://github.com/octo/cat/issues/9", ["octo/cat#9"]],
  ])("reads %j", (clause, deps) => {
    expect(only(`- [ ] [x1] Do it ${clause}`).deps).toEqual(deps);
  });

  it("reads several clauses anywhere in the line, without duplicates", () => {
    const t = only("- [ ] [ui] after [api] build the UI (depends on [design], [api]) blocked by #7");
    expect(t.deps).toEqual(["api", "design", "#7"]);
    expect(t.title).toBe("build the UI");
  });

  it("leaves words that merely look like clauses in the title", () => {
    const t = only("- [ ] [c] Clean up after lunch, it depends on the weather");
    expect(t.deps).toEqual([]);
    expect(t.title).toBe("Clean up after lunch, it depends on the weather");
  });

  it.each([
    ["est: 3", 3],
    ["(est: 2.5)", 2.5],
    ["EST=0.5", 0.5],
    ["estimate: 8", 8],
  ])("reads the estimate %j", (clause, estimate) => {
    const t = only(`- [ ] [a] Build it ${clause} after [b]`);
    expect(t.estimate).toBe(estimate);
    expect(t.title).toBe("Build it");
  });

  it("tidies the separators the clauses leave behind", () => {
    expect(only("- [ ] [api] Build the API — depends on [db] (est: 3)").title).toBe("Build the API");
    expect(only("- [ ] [api] Build the API, depends on [db], est: 3, carefully").title).toBe(
      "Build the API, carefully",
    );
    expect(only("- [ ] [api] Build the API (est: 3, after [db])").title).toBe("Build the API");
  });

  it.each(["est: 0", "est: -1", "est: 2h", "est: abc", "est:"])(
    "reports a bad estimate %j with its line",
    (clause) => {
      const { tickets, errors } = parseTaskList(`# Batch\n- [ ] [a] Build it ${clause}`);
      expect(tickets[0]?.estimate).toBe(1);
      expect(errors).toHaveLength(1);
      expect(errors[0]?.line).toBe(2);
      expect(errors[0]?.message).toMatch(/cannot read the estimate .*positive number/);
    },
  );

  it("reports two estimates on one line", () => {
    const { errors } = parseTaskList("- [ ] [a] x est: 1 est: 2");
    expect(errors).toEqual([{ line: 1, message: "more than one estimate (est: N) on one line" }]);
  });

  it("widens a short #N dependency to the only ticket with that number when no repository is known", () => {
    const { tickets } = parseTaskList("- [ ] octo/cat#12\n- [ ] [b] after #12");
    expect(tickets[1]?.deps).toEqual(["octo/cat#12"]);
    expect(validateBatch(tickets)).toEqual({ ok: true });
  });

  it("does not widen when the number is ambiguous", () => {
    const { tickets } = parseTaskList("- [ ] octo/cat#12\n- [ ] octo/dog#12\n- [ ] [b] after #12");
    expect(tickets[2]?.deps).toEqual(["#12"]);
    expect(validateBatch(tickets).ok).toBe(false);
  });
});

describe("parseTaskList: hostile input is bounded", () => {
  it("refuses more than 1,000 tickets with a clear error", () => {
    const md = Array.from({ length: 1001 }, (_, i) => `- [ ] [k${i}] t`).join("\n");
    const { tickets, errors } = parseTaskList(md);
    expect(tickets).toEqual([]);
    expect(errors).toEqual([
      {
        line: 1001,
        message: "the task list has more than 1,000 tickets — split it into several tracking issues",
      },
    ]);
    expect(parseTaskList(md, { maxTickets: 2000 }).tickets).toHaveLength(1001);
  });

  it("accepts exactly 1,000 tickets", () => {
    const md = Array.from({ length: 1000 }, (_, i) => `- [ ] [k${i}] t`).join("\n");
    expect(parseTaskList(md).errors).toEqual([]);
  });

  it("refuses a body over 256 KiB (counted in UTF-8 bytes)", () => {
    const big = "- [ ] [a] " + "é".repeat(MAX_BYTES / 2);
    const { tickets, errors } = parseTaskList(big);
    expect(tickets).toEqual([]);
    expect(errors[0]?.message).toMatch(/too large \(257 KiB; the limit is 256 KiB\)/);
    // The same number of characters in ASCII is under the limit.
    expect(parseTaskList("- [ ] [a] " + "e".repeat(MAX_BYTES / 2)).errors).toEqual([]);
  });

  it.each([
    ["separator runs", "- [ ] a" + "-|".repeat(60_000) + "b"],
    ["comma runs", "- [ ] a" + " ,".repeat(60_000) + "b"],
    ["slashes", "- [ ] " + "a/".repeat(60_000)],
    ["an endless dependency list", "- [ ] x after " + "[a] and ".repeat(20_000) + "("],
    ["brackets", "- [ ] " + "(".repeat(60_000) + ")".repeat(60_000)],
    ["an unclosed key", "- [ ] [" + "a".repeat(200_000)],
    ["a long URL", "- [ ] https://github.com/" + "a".repeat(200_000)],
    ["whitespace after a keyword", "- [ ] depends" + " ".repeat(200_000) + "x"],
    ["whitespace after a bracket", "- [ ] x (" + " ".repeat(200_000) + "y"],
    ["whitespace after a comma", "- [ ] x ," + " ".repeat(200_000) + "y"],
    ["whitespace after an estimate keyword", "- [ ] x " + "est ".repeat(50_000)],
  ])("parses %s in linear time", (_name, body) => {
    const started = performance.now();
    expect(parseTaskList(body).tickets).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("reads a huge list of distinct dependencies in linear time", () => {
    const refs = Array.from({ length: 20_000 }, (_, i) => `[a${i}]`).join(", ");
    const started = performance.now();
    const { tickets } = parseTaskList(`- [ ] [x] after ${refs}`);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(tickets[0]?.deps).toHaveLength(20_000);
  });

  it("quotes and shortens an unreadable estimate in its message", () => {
    const { errors } = parseTaskList("- [ ] [a] est:\u001b[31m" + "9".repeat(1000) + "x");
    expect(errors).toHaveLength(1);
    // JSON-quoted: the escape character is spelled out, and only the first 23 characters are shown.
    expect(errors[0]?.message).toBe(
      `cannot read the estimate "est:\\u001b[31m${"9".repeat(14)}…" (expected a positive number, e.g. est: 2.5)`,
    );
  });

  it("parses any long repetition of grammar fragments quickly (no catastrophic backtracking)", () => {
    const fragment = fc.constantFrom(
      ..." ,;()[]#1a/-—:=&|.?x\t".split(""),
      "est",
      "after",
      "depends on",
      "blocked by",
      " and ",
      "[k]",
      "#12",
      "o/r#3",
      "https://github.com/o/r/issues/4",
      "<!--",
      "-->",
    );
    fc.assert(
      fc.property(
        fc.array(fragment, { maxLength: 3 }),
        fc.array(fragment, { minLength: 1, maxLength: 4 }),
        (pre, motif) => {
          const unit = motif.join("");
          const body = `- [ ] ${pre.join("")}${unit.repeat(Math.ceil(20_000 / unit.length))}`;
          const started = performance.now();
          parseTaskList(body);
          expect(performance.now() - started).toBeLessThan(500);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("caps the number of reported problems", () => {
    const { errors } = parseTaskList("- [ ] " + "est: x ".repeat(20_000));
    expect(errors).toHaveLength(101);
    expect(errors[100]).toEqual({ line: 0, message: "… and 19901 more problems" });
  });

  it("stays fast on pathological clause text", () => {
    const line = "- [ ] [a] after " + "[b], ".repeat(5000) + "x".repeat(10000);
    const started = performance.now();
    parseTaskList(line);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe("validateBatch", () => {
  it("accepts the feature fixture", () => {
    const { tickets, errors } = parseTaskList(fixture("feature-batch.md"), {
      repo: { owner: "acme", name: "shop" },
    });
    expect(errors).toEqual([]);
    expect(tickets.map((t) => t.ref)).toEqual(["#101", "db", "api", "#102", "e2e", "#103", "docs", "t12"]);
    expect(tickets.find((t) => t.key === "#103")?.deps).toEqual(["api", "#101"]);
    expect(validateBatch(tickets)).toEqual({ ok: true });
  });

  it("names every unknown reference with its line", () => {
    const { tickets } = parseTaskList(fixture("unknown-ref.md"));
    expect(validateBatch(tickets)).toEqual({
      ok: false,
      errors: [
        "line 4: [api] depends on [dbb], which is not in the task list",
        "line 5: #7 depends on #6, which is not in the task list",
      ],
    });
  });

  it("names every member of each cycle, and self-dependencies", () => {
    const { tickets } = parseTaskList(fixture("cycle.md"));
    expect(validateBatch(tickets)).toEqual({
      ok: false,
      errors: [
        "dependency cycle: [schema] → [api] → [client] → [schema] (each depends on the next)",
        "dependency cycle: [docs] → [docs] (each depends on the next)",
      ],
    });
  });

  it("names members of a tangle that no single cycle covers", () => {
    const { tickets } = parseTaskList("- [ ] [a] after [b], [c]\n- [ ] [b] after [a]\n- [ ] [c] after [a]");
    const result = validateBatch(tickets);
    expect(result.ok).toBe(false);
    const text = result.ok ? "" : result.errors.join("\n");
    for (const k of ["[a]", "[b]", "[c]"]) expect(text).toContain(k);
    expect(findTicketCycles(tickets)).toEqual([
      ["a", "b"],
      ["c", "a"],
    ]);
  });

  it("reports duplicate keys, including an issue listed twice", () => {
    const { tickets } = parseTaskList("- [ ] [a] one\n- [ ] #4\n- [ ] [a] two\n- [x] #4 again");
    expect(validateBatch(tickets)).toEqual({
      ok: false,
      errors: [
        "line 3: [a] appears more than once in the task list (first on line 1)",
        "line 4: #4 appears more than once in the task list (first on line 2)",
      ],
    });
  });

  it("reports all kinds of problems together", () => {
    const { tickets } = parseTaskList("- [ ] [a] after [b]\n- [ ] [b] after [a], [zz]\n- [ ] [b] dup");
    const result = validateBatch(tickets);
    expect(result.ok ? [] : result.errors).toHaveLength(3);
  });

  it("infers how a ticket was written when `kind` is absent (tickets built outside the parser)", () => {
    const base = { title: "x", estimate: 1, done: false, line: 3 };
    const tickets: Ticket[] = [
      { ...base, key: "#9", ref: "#9", issue: { number: 9 }, deps: ["gone"] },
      { ...base, key: "api", ref: "api", deps: ["#8"] },
      { ...base, key: "t3", ref: "t3", deps: ["#7"] },
    ];
    expect(validateBatch(tickets)).toEqual({
      ok: false,
      errors: [
        "line 3: #9 depends on [gone], which is not in the task list",
        "line 3: [api] depends on #8, which is not in the task list",
        'line 3: "x" (line 3) depends on #7, which is not in the task list',
      ],
    });
  });

  it("names raw-text tickets by their text and line", () => {
    const tickets: Ticket[] = [
      {
        key: "t1",
        ref: "t1",
        kind: "text",
        title: "Write notes",
        deps: ["nope"],
        estimate: 1,
        done: false,
        line: 1,
      },
    ];
    expect(validateBatch(tickets)).toEqual({
      ok: false,
      errors: ['line 1: "Write notes" (line 1) depends on [nope], which is not in the task list'],
    });
  });
});
