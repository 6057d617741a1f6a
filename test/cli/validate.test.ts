import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import nock from "nock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main, type Io } from "../../src/cli/main.js";

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: Io = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) };
  return { code: await main(argv, io), stdout, stderr };
}

const root = join(import.meta.dirname, "..", "..");
const fixture = (name: string) => relative(process.cwd(), join(root, "test", "fixtures", "repos", name));

describe("trellis validate (in-process)", () => {
  it("passes on the built-ins", async () => {
    const r = await run(["validate"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(
      /^✓ built-in definitions: \d+ profiles, \d+ templates, default config — 0 errors, 0 warnings\n$/,
    );
    expect(r.code).toBe(0);
  });

  it("passes on a customised repository (overrides, a new profile and workflow)", async () => {
    const r = await run(["validate", fixture("valid")]);
    expect(r.stdout).toMatch(
      /✓ .*valid \(over the built-ins\): \d+ profiles, \d+ templates, config — 0 errors, 0 warnings\n$/,
    );
    expect(r.code).toBe(0);
  });

  it.each([
    ["bad-yaml", ".github/trellis.yml", 4, /:4:13: error Nested mappings are not allowed/],
    ["bad-config-range", ".github/trellis.yml", 3, /error batch\.parallel_limit: Too small/],
    [
      "missing-default",
      ".github/trellis.yml",
      2,
      /error default_workflow: workflow template "featur" does not exist; did you mean "feature"\?/,
    ],
    ["bad-threshold", ".github/trellis/workflows/strict.yml", 8, /error .*coverage_threshold/],
    ["cycle", ".github/trellis/workflows/loop.yml", 6, /error .*cycle: [abc] → [abc] → [abc] → [abc]/],
    ["unknown-profile", ".github/trellis/workflows/ship.yml", 7, /error .*deployer/],
    ["unknown-needs", ".github/trellis/workflows/docs-first.yml", 8, /error .*design/],
    ["bad-profile", ".github/trellis/agents/ops.md", 5, /error .*permission/],
  ])("fails on %s with a located error in %s at line %i", async (name, file, line, message) => {
    const r = await run(["validate", fixture(name)]);
    expect(r.code).toBe(1);
    const path = join(fixture(name), file);
    const located = r.stdout.split("\n").filter((l) => l.startsWith(`${path}:${line}:`));
    expect(located.length, r.stdout).toBeGreaterThan(0);
    expect(located.join("\n")).toMatch(message);
    expect(r.stdout).toMatch(/\n✗ .* \d+ errors?, \d+ warnings?\n$/);
  });

  it("warns on an unknown config key (exit 0) and fails with --strict", async () => {
    const path = join(fixture("unknown-key"), ".github/trellis.yml");
    const r = await run(["validate", fixture("unknown-key")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `${path}:3:3: warning batch.parallel_limt: unknown key "parallel_limt" is ignored; did you mean "parallel_limit"?`,
    );
    const strict = await run(["validate", "--strict", fixture("unknown-key")]);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toMatch(/✗ .*0 errors, 1 warning\n$/);
  });

  it("exits 2 on a directory that does not exist or on bad options", async () => {
    const missing = await run(["validate", "no/such/dir"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe("trellis validate: no/such/dir is not a directory\n");
    expect((await run(["validate", "--nope"])).code).toBe(2);
    expect((await run(["validate", "a", "b"])).code).toBe(2);
  });
});

describe("trellis validate: the board's owner must be an organization", () => {
  const dirs: string[] = [];
  beforeEach(() => {
    nock.disableNetConnect();
  });
  afterEach(async () => {
    nock.cleanAll();
    nock.enableNetConnect();
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  /** A checkout with this config and, optionally, an `origin` remote. */
  async function checkout(config: string, origin?: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "trellis-validate-"));
    dirs.push(dir);
    await mkdir(join(dir, ".github"), { recursive: true });
    await writeFile(join(dir, ".github", "trellis.yml"), config);
    if (origin) {
      await mkdir(join(dir, ".git"));
      await writeFile(
        join(dir, ".git", "config"),
        `[core]\n\tbare = false\n[remote "origin"]\n\turl = ${origin}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n`,
      );
    }
    return dir;
  }
  const user = (login: string, type: string) =>
    nock("https://api.github.com").get(`/users/${login}`).reply(200, { login, id: 1, type });

  it("refuses a board.owner that GitHub says is a user, saying why and what to do", async () => {
    const scope = user("octocat", "User");
    const r = await run([
      "validate",
      await checkout("board:\n  enabled: true\n  owner: octocat\n  number: 1\n"),
    ]);
    expect(scope.isDone()).toBe(true);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /trellis\.yml: error board\.owner: Trellis can't use this board: `board\.owner` is `octocat`/,
    );
    expect(r.stdout).toMatch(/Use a project owned by an organization/);
  });

  it("with board.owner empty, checks the repository's owner from the origin remote", async () => {
    user("octocat", "User");
    const mine = await run([
      "validate",
      await checkout("board:\n  enabled: true\n  create: true\n", "https://github.com/octocat/site.git"),
    ]);
    expect(mine.code).toBe(1);
    expect(mine.stdout).toContain(
      "error board.enabled: Trellis can't use this board: `board.owner` is empty, so the board's owner is the repository's owner `octocat`",
    );
    user("octo-org", "Organization");
    const ours = await run([
      "validate",
      await checkout("board:\n  enabled: true\n  create: true\n", "git@github.com:octo-org/web.git"),
    ]);
    expect(ours.code).toBe(0);
    expect(ours.stdout).toMatch(/^✓ .*config — 0 errors, 0 warnings\n$/);
  });

  it("never fails for want of GitHub: unreachable, or --offline (no request)", async () => {
    nock("https://api.github.com").get("/users/octocat").replyWithError("getaddrinfo ENOTFOUND");
    const dir = await checkout("board:\n  enabled: true\n  owner: octocat\n  number: 1\n");
    const unreachable = await run(["validate", dir]);
    expect(unreachable.code).toBe(0);
    expect(unreachable.stdout).toMatch(/^note: could not check that the board's owner is an organization/);
    const offline = await run(["validate", "--offline", dir]);
    expect(offline.code).toBe(0);
    expect(offline.stdout).not.toContain("note:");
  });
});

describe("trellis validate (as a real process, the way npx runs it)", () => {
  const exec = promisify(execFile);
  const bin = join(root, "src", "cli", "bin.js");

  it("exits 0 on the built-ins", async () => {
    const r = await exec(process.execPath, [bin, "validate"], { cwd: root });
    expect(r.stdout).toMatch(/^✓ built-in definitions/);
  });

  it("exits 1 with located errors on a broken repository", async () => {
    const err = await exec(process.execPath, [bin, "validate", "test/fixtures/repos/unknown-profile"], {
      cwd: root,
    }).then(
      () => undefined,
      (e: { code: number; stdout: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err?.stdout).toMatch(
      /^test\/fixtures\/repos\/unknown-profile\/\.github\/trellis\/workflows\/ship\.yml:7:\d+: error /m,
    );
  });

  it("exits 2 with usage on an unknown command", async () => {
    const err = await exec(process.execPath, [bin, "nope"], { cwd: root }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr).toMatch(/Usage: trellis/);
  });
});
