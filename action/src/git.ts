/**
 * Every git command the Action runs goes through here, with a configuration the agent cannot steer.
 *
 * The agent (and the project's tests, which the agent wrote) run as the same user in the same checkout, so anything
 * in `.git/` or the user's home may have been planted: a hook, a `core.fsmonitor` command, a clean/smudge filter, a
 * textconv or external diff driver, replace refs, an `include.path`. Git runs several of these as programs, and a
 * program git starts inherits git's environment. So each git command here gets:
 *   - a minimal environment (PATH, a neutral locale): none of the Action's INPUT_*, ACTIONS_* or GITHUB_TOKEN;
 *   - no system or global configuration (GIT_CONFIG_NOSYSTEM, GIT_CONFIG_GLOBAL=/dev/null, HOME and XDG_CONFIG_HOME
 *     at /dev/null so no ~/.config/git/{attributes,ignore} is read either), no system attributes;
 *   - no replace objects (GIT_NO_REPLACE_OBJECTS) and no grafts (GIT_GRAFT_FILE=/dev/null): `git replace` cannot
 *     make a diff show another tree than the real one;
 *   - `-c core.hooksPath=/dev/null -c core.fsmonitor=false` and the other program-running keys turned off on the
 *     command line, which wins over any configuration file;
 * and sealGitConfig() replaces the repository's own `.git/config` with a minimal one the Action writes, which drops
 * whatever the agent added (filter and diff drivers, aliases, includes, credential helpers, extra headers).
 */
import { execFile } from "node:child_process";
import { lstat, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** The environment of every git process the Action starts. */
export function cleanGitEnv(): Record<string, string> {
  return {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    LANG: "C",
    LC_ALL: "C",
    HOME: "/dev/null",
    XDG_CONFIG_HOME: "/dev/null",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_ATTR_NOSYSTEM: "1",
    GIT_NO_REPLACE_OBJECTS: "1",
    GIT_GRAFT_FILE: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GIT_OPTIONAL_LOCKS: "0",
  };
}

/** Configuration keys that make git run a program, switched off for every command. */
export const CLEAN_GIT_CONFIG = [
  "core.hooksPath=/dev/null",
  "core.fsmonitor=false",
  "core.untrackedCache=false",
  "core.pager=cat",
  "core.editor=true",
  "core.sshCommand=false",
  "core.askPass=",
  "credential.helper=",
  "diff.external=",
  "protocol.ext.allow=never",
  // GIT_GRAFT_FILE=/dev/null otherwise prints a deprecation hint on every command.
  "advice.graftFileDeprecated=false",
] as const;

const CONFIG_ARGS = CLEAN_GIT_CONFIG.flatMap((kv) => ["-c", kv]);

export interface GitRunOptions {
  /** Bytes for git's standard input. */
  input?: Buffer | string;
  /** Extra variables (e.g. GIT_INDEX_FILE), on top of the clean environment. */
  env?: Record<string, string>;
}

/** Runs `git <args>` in `dir` with the clean configuration; resolves with stdout, rejects on a non-zero exit. */
export function runGit(dir: string, args: string[], options: GitRunOptions = {}): Promise<string> {
  return runGitBytes(dir, args, options).then((out) => out.toString("utf8"));
}

/** runGit, with stdout as bytes (a binary patch must not go through a text decoder). */
export function runGitBytes(dir: string, args: string[], options: GitRunOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      "git",
      [...CONFIG_ARGS, ...args],
      {
        cwd: dir,
        env: { ...cleanGitEnv(), ...options.env },
        encoding: "buffer",
        maxBuffer: 256 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error) {
          const detail = stderr.toString("utf8").trim();
          reject(new Error(`git ${args.join(" ")} failed${detail ? `: ${detail}` : ""}`));
        } else resolve(stdout);
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

/** A git runner bound to a directory, in the shape the workspace code uses. */
export interface CleanGit {
  raw(args: string[], options?: GitRunOptions): Promise<string>;
  /** `git rev-parse <args>`, trimmed. */
  revparse(args: string[]): Promise<string>;
}

export const git = (dir: string): CleanGit => ({
  raw: (args, options) => runGit(dir, args, options),
  revparse: async (args) => (await runGit(dir, ["rev-parse", ...args])).trim(),
});

/**
 * Replace `<dir>/.git/config` with a minimal configuration: the object format, the `origin` URL without any
 * credential in it, and nothing else. Called before the agent runs (so no token the checkout may have persisted is
 * left for it to read) and again after anything the agent controls has run (so nothing it configured runs in the
 * Action's git). Refuses a `.git` that is not a plain directory: the agent may have swapped it for a link or a
 * `gitdir:` file pointing at a repository it prepared.
 */
export async function sealGitConfig(dir: string): Promise<void> {
  const dotGit = join(dir, ".git");
  const stat = await lstat(dotGit).catch(() => undefined);
  if (!stat) return;
  if (!stat.isDirectory()) throw new Error(`${dotGit} is not a directory: refusing to run git in it`);
  const path = join(dotGit, "config");
  const current = await readFile(path, "utf8").catch(() => "");
  // Read as data with git's own parser, includes not followed: nothing in it is run.
  const get = (key: string): Promise<string> =>
    runGit(dir, ["config", "--file", path, "--no-includes", "--get", key]).then(
      (v) => v.trim(),
      () => "",
    );
  const [objectFormat, origin] = current
    ? await Promise.all([get("extensions.objectformat"), get("remote.origin.url")])
    : ["", ""];
  const lines = [
    "[core]",
    `\trepositoryformatversion = ${objectFormat ? 1 : 0}`,
    "\tfilemode = true",
    "\tbare = false",
    "\tlogallrefupdates = true",
  ];
  if (objectFormat) lines.push("[extensions]", `\tobjectformat = ${objectFormat}`);
  if (origin) {
    lines.push(
      '[remote "origin"]',
      `\turl = ${withoutCredentials(origin)}`,
      "\tfetch = +refs/heads/*:refs/remotes/origin/*",
    );
  }
  await writeFile(path, `${lines.join("\n")}\n`);
}

/** A remote URL without the user and password an authenticated clone may have put in it. */
export function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.username && !parsed.password) return url;
    parsed.username = "";
    parsed.password = "";
    return parsed.toString();
  } catch {
    return url; // a path or an scp-like address: no credential in it
  }
}
