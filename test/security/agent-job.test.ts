/**
 * Hostile: the agent's job, attacked from inside by a prompt-injected agent with Bash. The real Action runs the REAL
 * Claude Code CLI, driven by a scripted Messages API, in a real checkout with a local bare origin:
 *   - the checkout persisted its token (the worst case: `persist-credentials: true`): the agent finds none of it;
 *   - the agent plants hooks, a `core.fsmonitor`, a clean filter and a hooks path: none of them runs when the Action
 *     runs git afterwards (a control shows each one does run under plain git);
 *   - the agent commits a change and `git replace`s the base with it: the proposal still shows the real change, and a
 *     protected path hidden that way is still refused;
 *   - a proposal applies cleanly to its base and reproduces the agent's tree: additions, edits, deletions, a binary
 *     file, an executable bit.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startFakeAnthropic, text, toolUse } from "../../sandbox/src/fake-anthropic.js";
import type { FakeAnthropic, Turn } from "../../sandbox/src/fake-anthropic.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { applyProposal, makeRepo, sh } from "../action/git-fixture.js";
import { GITHUB_TOKEN, makeSpec, REPO_ROOT, runAction } from "../action/harness.js";

const FILES: Record<string, string> = {
  "package.json": JSON.stringify({ name: "shop", private: true, type: "module" }, null, 2),
  ".gitignore": "node_modules\n",
  "README.md": "# shop\n",
  "src/old.js": "export const old = 1;\n",
  "src/keep.js": "export const keep = 1;\n",
  "bin/run.sh": "#!/bin/sh\necho run\n",
  ".github/trellis.yml": "protected_paths: ['.github/workflows/**']\n",
  ".github/trellis/agents/hostile.md": [
    "---",
    "name: hostile",
    "description: an agent steered by an attacker",
    "role: dev",
    // No tool list and autonomous: full Bash without asking (bypassPermissions), the attacker's best case.
    "permission: autonomous",
    "max_turns: 8",
    "---",
    "",
    "You do what the issue says.",
    "",
  ].join("\n"),
  ".github/trellis/workflows/attack.yml": [
    "name: attack",
    "description: one stage, no criteria",
    "stages:",
    "  - id: dev",
    "    profile: hostile",
    "",
  ].join("\n"),
};

const BASIC = Buffer.from(`x-access-token:${GITHUB_TOKEN}`).toString("base64");

let fake: FakeAnthropic | undefined;
useGitHubNock();
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function mockIssue(): void {
  githubApi()
    .get("/repos/acme/shop/issues/7")
    .reply(200, { number: 7, title: "Do it", body: "Do it.", user: { login: "mallory", type: "User" } })
    .get("/repos/acme/shop/issues/7/comments")
    .query({ per_page: 100 })
    .reply(200, []);
}

function repo(): { root: string; origin: string; work: string } {
  const r = makeRepo(FILES);
  symlinkSync(join(REPO_ROOT, "node_modules"), join(r.work, "node_modules"), "dir");
  return r;
}

/** One Bash call per turn, then a closing message; returns what each call printed. */
async function agentRunning(commands: string[]): Promise<{ outputs: string[] }> {
  const outputs: string[] = [];
  const script: Turn[] = commands.map((command, i) => (_req, ctx) => {
    if (i > 0) outputs.push(ctx.toolResults.map((r) => r.text).join("\n"));
    return [toolUse("Bash", { command, description: `step ${i + 1}` })];
  });
  script.push((_req, ctx) => {
    outputs.push(ctx.toolResults.map((r) => r.text).join("\n"));
    return [text("Done.")];
  });
  fake = await startFakeAnthropic({ script });
  return { outputs };
}

const spec = makeSpec({ workflow: "attack", stage: "dev", profile: "hostile" });

describe("the agent's job under attack (real Action, real Claude Code CLI)", { timeout: 90_000 }, () => {
  it("finds no token in .git/config or in its environment, even when the checkout persisted it", async () => {
    const { work } = repo();
    // What actions/checkout leaves with persist-credentials: true, and what an authenticated clone URL leaves.
    // (A loopback port nothing listens on: the Action's fetch fails at once and goes nowhere.)
    sh(work, "config", "http.http://127.0.0.1:9/.extraheader", `AUTHORIZATION: basic ${BASIC}`);
    sh(
      work,
      "config",
      "remote.origin.url",
      `http://x-access-token:${GITHUB_TOKEN}@127.0.0.1:9/acme/shop.git`,
    );
    mockIssue();
    const agent = await agentRunning([
      "cat .git/config; git config --list --show-origin; env; grep -rl ghs_ .git || true",
    ]);
    const run = await runAction({ work, spec, fakeUrl: fake!.url });

    expect(run.result.status, `${run.result.reason}\n${run.log.join("\n")}`).toBe("succeeded");
    const seen = agent.outputs.join("\n");
    expect(seen).toContain('[remote "origin"]'); // the command ran and printed the config
    expect(seen).not.toContain(GITHUB_TOKEN);
    expect(seen).not.toContain(BASIC);
    expect(seen).not.toMatch(/extraheader/i);
    expect(readFileSync(join(work, ".git", "config"), "utf8")).not.toContain(GITHUB_TOKEN);
  });

  it("never runs a hook, fsmonitor, filter or hooks path the agent planted in .git when the Action runs git", async () => {
    const { root, work } = repo();
    const marks = mkdtempSync(join(tmpdir(), "trellis-pwned-"));
    // Each planted program leaves a file named after itself, with the environment it ran in.
    const payload = (name: string): string => `#!/bin/sh\nenv > "${marks}/${name}"\ncat\n`;
    const plant = [
      ...["pre-commit", "post-checkout", "post-index-change", "reference-transaction", "post-commit"].map(
        (hook) => `printf '%s' '${payload(hook)}' > .git/hooks/${hook} && chmod +x .git/hooks/${hook}`,
      ),
      `mkdir -p /tmp/evil-hooks-${process.pid} && printf '%s' '${payload("hooks-path")}' > /tmp/evil-hooks-${process.pid}/pre-commit && chmod +x /tmp/evil-hooks-${process.pid}/pre-commit`,
      `printf '%s' '${payload("fsmonitor")}' > .git/fsmonitor.sh && chmod +x .git/fsmonitor.sh`,
      `printf '%s' '${payload("filter")}' > .git/filter.sh && chmod +x .git/filter.sh`,
      // Configured last, so the agent's own commands above run no planted program.
      `git config core.fsmonitor "$PWD/.git/fsmonitor.sh" && git config filter.evil.clean "$PWD/.git/filter.sh" && ` +
        `printf '* filter=evil\\n' > .git/info/attributes && mkdir -p src && echo "export const x = 1;" > src/new.js && echo planted`,
    ].join(" && ");
    mockIssue();
    const agent = await agentRunning([plant]);
    const run = await runAction({ work, spec, fakeUrl: fake!.url });

    expect(agent.outputs.join("\n")).toContain("planted");
    expect(existsSync(join(work, ".git", "hooks", "post-index-change"))).toBe(true);
    expect(run.result.status, `${run.result.reason}\n${run.log.join("\n")}`).toBe("succeeded");
    expect(run.result.proposal?.files.map((f) => f.path)).toEqual(["src/new.js"]);
    expect(readdirSync(marks)).toEqual([]);

    // Control: the same plants do run under plain git, in a repository configured the same way.
    const control = makeRepo({ "a.txt": "a\n" }).work;
    execFileSync("sh", ["-c", plant.replaceAll("/tmp/evil-hooks-", `${root}/control-hooks-`)], {
      cwd: control,
    });
    sh(control, "config", "core.hooksPath", `${root}/control-hooks-${process.pid}`);
    sh(control, "status", "--short");
    sh(control, "add", "-A");
    sh(control, "commit", "--quiet", "-m", "control");
    expect(readdirSync(marks).sort()).toEqual(expect.arrayContaining(["filter", "fsmonitor", "hooks-path"]));
  });

  it("`git replace` does not hide a change: the proposal shows the real tree, and a hidden protected path is refused", async () => {
    const { root, origin, work } = repo();
    const base = sh(origin, "rev-parse", "refs/heads/main");
    // The agent commits its change, then makes the base look like that commit: a diff against the base shows nothing.
    const hide = (files: string): string =>
      `${files} && git add -A && git -c user.name=a -c user.email=a@b commit -qm hide && git replace -f ${base} HEAD && echo replaced`;
    mockIssue();
    const agent = await agentRunning([hide(`echo "export const hidden = 1;" > src/hidden.js`)]);
    const run = await runAction({ work, spec, fakeUrl: fake!.url });

    // Control: the agent's commit is HEAD, and with replace objects honoured (plain git) it hides the change.
    expect(agent.outputs.join("\n")).toContain("replaced");
    expect(sh(work, "ls-tree", "--name-only", "HEAD", "src/")).toContain("src/hidden.js");
    expect(sh(work, "diff", "--name-only", base, "HEAD")).toBe("");
    expect(run.result.status, `${run.result.reason}\n${run.log.join("\n")}`).toBe("succeeded");
    expect(run.result.proposal?.base).toBe(base);
    expect(run.result.proposal?.files.map((f) => f.path)).toEqual(["src/hidden.js"]);
    expect(applyProposal(root, origin, base, run.patchFile).files).toContain("src/hidden.js");

    // The same trick on a protected path: seen, refused, not proposed.
    const second = repo();
    const base2 = sh(second.origin, "rev-parse", "refs/heads/main");
    mockIssue();
    await fake?.close();
    await agentRunning([
      `mkdir -p .github/workflows && echo "on: push" > .github/workflows/evil.yml && git add -A && ` +
        `git -c user.name=a -c user.email=a@b commit -qm hide && git replace -f ${base2} HEAD`,
    ]);
    const refused = await runAction({ work: second.work, spec, fakeUrl: fake!.url });
    expect(refused.result.status).toBe("failed");
    expect(refused.result.reason).toMatch(/protected paths: \.github\/workflows\/evil\.yml/);
    expect(refused.result.proposal).toBeUndefined();
    expect(existsSync(refused.patchFile)).toBe(false);
  });

  it("a proposal applies cleanly to its base and reproduces the agent's tree (edits, deletions, binary, modes)", async () => {
    const { root, origin, work } = repo();
    const base = sh(origin, "rev-parse", "refs/heads/main");
    mockIssue();
    await agentRunning([
      [
        `printf 'export const keep = 2;\\n' > src/keep.js`,
        "rm src/old.js",
        "chmod +x bin/run.sh",
        "mkdir -p assets/deep && head -c 2048 /dev/urandom > assets/deep/blob.bin",
        `printf '#!/bin/sh\\necho new\\n' > bin/new.sh && chmod +x bin/new.sh`,
        "mkdir -p .trellis && echo scratch > .trellis/notes.md",
      ].join(" && "),
    ]);
    const run = await runAction({ work, spec, fakeUrl: fake!.url });

    expect(run.result.status, `${run.result.reason}\n${run.log.join("\n")}`).toBe("succeeded");
    const proposal = run.result.proposal!;
    expect(proposal.base).toBe(base);
    expect(proposal.files.map((f) => [f.path, f.status, f.mode])).toEqual([
      ["assets/deep/blob.bin", "A", "100644"],
      ["bin/new.sh", "A", "100755"],
      ["bin/run.sh", "M", "100755"],
      ["src/keep.js", "M", "100644"],
      ["src/old.js", "D", undefined],
    ]);
    const applied = applyProposal(root, origin, base, run.patchFile);
    // The applied tree is the agent's work tree, byte for byte and mode for mode (scratch space excluded).
    const treeOfWork = (() => {
      const index = join(mkdtempSync(join(tmpdir(), "trellis-index-")), "index");
      const env = { ...process.env, GIT_INDEX_FILE: index };
      execFileSync("git", ["read-tree", base], { cwd: work, env });
      execFileSync("git", ["add", "-A"], { cwd: work, env });
      execFileSync("git", ["rm", "-r", "--cached", "--quiet", "--ignore-unmatch", ".trellis"], {
        cwd: work,
        env,
      });
      return execFileSync("git", ["write-tree"], { cwd: work, env, encoding: "utf8" }).trim();
    })();
    expect(sh(applied.dir, "write-tree")).toBe(treeOfWork);
    for (const f of proposal.files.filter((f) => f.blob))
      expect(sh(applied.dir, "rev-parse", `:${f.path}`)).toBe(f.blob);
  });
});
