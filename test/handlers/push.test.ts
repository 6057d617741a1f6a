import { describe, expect, it } from "vitest";
import { changedDefinitions } from "../../src/handlers/push.js";
import { examplePayload } from "../support/webhooks.js";

/** GitHub's push to the default branch (example #4: refs/heads/master, one commit), with its files. */
function pushTouching(
  files: { added?: string[]; modified?: string[]; removed?: string[] },
  ref = "refs/heads/master",
) {
  const payload = examplePayload("push", undefined, {}, 4);
  const commit = payload.commits[0]!;
  return { ...payload, ref, commits: [{ ...commit, added: [], removed: [], modified: [], ...files }] };
}

describe("push handler", () => {
  it("names the repository when a push to the default branch changes its Trellis definitions", () => {
    expect(changedDefinitions(pushTouching({ modified: [".github/trellis.yml"] }))).toBe(
      "Codertocat/Hello-World",
    );
    expect(changedDefinitions(pushTouching({ added: [".github/trellis/agents/security.md"] }))).toBe(
      "Codertocat/Hello-World",
    );
    expect(changedDefinitions(pushTouching({ removed: [".github/trellis/workflows/feature.yml"] }))).toBe(
      "Codertocat/Hello-World",
    );
  });

  it("ignores other files, other branches and tags", () => {
    expect(
      changedDefinitions(pushTouching({ modified: ["src/index.ts", ".github/workflows/ci.yml"] })),
    ).toBeUndefined();
    expect(changedDefinitions(pushTouching({ modified: [".github/trellis-notes.md"] }))).toBeUndefined();
    expect(
      changedDefinitions(pushTouching({ modified: [".github/trellis.yml"] }, "refs/heads/trellis/7-add-sum")),
    ).toBeUndefined();
    expect(changedDefinitions(examplePayload("push", undefined, {}, 0))).toBeUndefined(); // a tag
  });

  it("counts a push whose commit list is missing or cut short as a change", () => {
    expect(changedDefinitions({ ...pushTouching({}), commits: [] })).toBe("Codertocat/Hello-World");
    const many = Array.from({ length: 2048 }, () => pushTouching({ modified: ["README.md"] }).commits[0]!);
    expect(changedDefinitions({ ...pushTouching({}), commits: many })).toBe("Codertocat/Hello-World");
  });
});
