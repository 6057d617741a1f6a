import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { findPackageRoot, readBuiltins, readRepoDefinitionFiles } from "../builtins.js";
import { boardOwner, ownerFromRemote, userOwnedBoardMessage } from "../core/board.js";
import { formatDiagnostic, type Diagnostic } from "../core/diagnostics.js";
import { loadDefinitions } from "../core/definitions.js";
import type { Io } from "../io.js";

const HELP = `Usage: trellis validate [dir]

Checks Trellis definitions and prints each problem as file:line:col: severity key.path: message.
  without dir  the built-in agent profiles and workflow templates
  with dir     a repository: its .github/trellis.yml, .github/trellis/agents/*.md and
               .github/trellis/workflows/*.yml, merged over the built-ins
Options:
  --strict     treat warnings (unknown keys, unknown tools, …) as errors
  --offline    do not ask GitHub whether the board's owner is an organization (with the board
               enabled, validate looks the owner up: GITHUB_API_URL, GITHUB_TOKEN if set)
Exit status: 0 when there are no errors (warnings allowed), 1 when there are, 2 on bad usage.
`;

export async function validateCommand(argv: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        help: { type: "boolean", short: "h" },
        strict: { type: "boolean" },
        offline: { type: "boolean" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    io.stderr(`trellis validate: ${e instanceof Error ? e.message : String(e)}\n\n${HELP}`);
    return 2;
  }
  if (parsed.values.help) {
    io.stdout(HELP);
    return 0;
  }
  if (parsed.positionals.length > 1) {
    io.stderr(
      `trellis validate: expected at most one directory, got ${parsed.positionals.length}\n\n${HELP}`,
    );
    return 2;
  }
  const dir = parsed.positionals[0];
  if (dir !== undefined && !(existsSync(dir) && statSync(dir).isDirectory())) {
    io.stderr(`trellis validate: ${dir} is not a directory\n`);
    return 2;
  }

  const root = findPackageRoot();
  const builtins = await readBuiltins(root);
  const repo = dir === undefined ? new Map<string, string>() : await readRepoDefinitionFiles(dir);
  const result = loadDefinitions({ builtins, repo });

  // Paths relative to the working directory, so editors and CI logs can open them.
  const where = (d: Diagnostic): Diagnostic => {
    const base = builtins.has(d.file) ? root : resolve(dir ?? ".");
    return { ...d, file: relative(process.cwd(), join(base, d.file)) || d.file };
  };
  const config = result.value?.config;
  if (dir !== undefined && config?.board.enabled && parsed.values.offline !== true) {
    const file = [...repo.keys()].find((k) => /^\.github\/trellis\.ya?ml$/.test(k)) ?? ".github/trellis.yml";
    const owner = boardOwner(config.board, await remoteOwner(dir));
    const checked = owner
      ? await ownerType(owner)
      : "board.owner is empty and the directory has no GitHub origin remote";
    if (checked === "User")
      result.errors.push({
        file,
        path: ["board", config.board.owner ? "owner" : "enabled"],
        severity: "error",
        message: userOwnedBoardMessage(owner!, config.board.owner !== ""),
      });
    else if (checked !== "Organization")
      io.stdout(
        `note: could not check that the board's owner is an organization (${checked}); ` +
          "GitHub Apps can only use an organization's Projects.\n",
      );
  }
  for (const d of [...result.errors, ...result.warnings].map(where)) io.stdout(`${formatDiagnostic(d)}\n`);

  const subject = dir === undefined ? "built-in definitions" : `${dir} (over the built-ins)`;
  const counts = `${plural(result.errors.length, "error")}, ${plural(result.warnings.length, "warning")}`;
  const failed = result.errors.length > 0 || (parsed.values.strict === true && result.warnings.length > 0);
  if (failed) {
    io.stdout(`✗ ${subject}: ${counts}\n`);
    return 1;
  }
  const v = result.value;
  const found = v ? `${plural(v.profiles.size, "profile")}, ${plural(v.templates.size, "template")}` : "";
  const which =
    dir !== undefined && [...repo.keys()].some((k) => /^\.github\/trellis\.ya?ml$/.test(k))
      ? "config"
      : "default config";
  io.stdout(`✓ ${subject}: ${found}, ${which} — ${counts}\n`);
  return 0;
}

/** The owner of the repository checked out in `dir`, from its `origin` remote on GitHub. */
async function remoteOwner(dir: string): Promise<string | undefined> {
  const text = await readFile(join(dir, ".git", "config"), "utf8").catch(() => "");
  const origin = /\[remote "origin"\][^[]*?\burl\s*=\s*(\S+)/.exec(text)?.[1];
  return origin ? ownerFromRemote(origin) : undefined;
}

/**
 * "User" or "Organization" as GitHub's REST API says (`GET /users/{username}` answers both, with `type`), or why it
 * could not tell. One request, 5 s at most; a failure never fails the validation.
 */
async function ownerType(login: string): Promise<string> {
  const base = (process.env["GITHUB_API_URL"] ?? "https://api.github.com").replace(/\/$/, "");
  const token = process.env["GITHUB_TOKEN"];
  try {
    const response = await fetch(`${base}/users/${encodeURIComponent(login)}`, {
      headers: {
        accept: "application/vnd.github+json",
        "x-github-api-version": "2022-11-28",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      signal: AbortSignal.timeout(5_000),
    });
    if (!response.ok) return `GitHub answered ${response.status} for ${login}`;
    const body = (await response.json()) as { type?: unknown };
    return typeof body.type === "string" ? body.type : `no type for ${login}`;
  } catch (error) {
    return `GitHub unreachable: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
