import { parse } from "yaml";
import type { RepoRef } from "../core/repo.js";
import type { GitHub } from "./client.js";
import { repoParams, statusOf } from "./client.js";

export const CONFIG_PATH = ".github/trellis.yml";
export const AGENTS_DIR = ".github/trellis/agents";
export const WORKFLOWS_DIR = ".github/trellis/workflows";
/** Files larger than this are not read (the contents API itself stops inlining at 1 MB). */
export const MAX_FILE_BYTES = 512 * 1024;
const MAX_EXTENDS_DEPTH = 3;
const MAX_DIR_FILES = 100;

/**
 * The repository's Trellis files at `ref`, keyed by path: `.github/trellis.yml`, the agent profiles and workflow
 * templates under `.github/trellis/`, and any `_extends` base config keyed as `<owner>/<repo>:<path>`. Absent files
 * and folders (404) are simply missing from the map. Parsing and validation belong to the core.
 */
export async function loadRepoFiles(
  octokit: GitHub,
  repo: RepoRef,
  ref?: string,
): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const [config, agents, workflows] = await Promise.all([
    readFile(octokit, repo, CONFIG_PATH, ref),
    readDir(octokit, repo, AGENTS_DIR, ".md", ref),
    readDir(octokit, repo, WORKFLOWS_DIR, [".yml", ".yaml"], ref),
  ]);
  if (config !== undefined) {
    files.set(CONFIG_PATH, config);
    await loadExtends(octokit, repo, config, files, 0);
  }
  for (const [path, text] of [...agents, ...workflows]) files.set(path, text);
  return files;
}

/** Where `_extends` points: `repo`, `owner/repo`, optionally `:path` (Probot's convention); the default is `.github`. */
export function parseExtends(value: unknown, from: RepoRef): { repo: RepoRef; path: string } | undefined {
  if (typeof value !== "string" || value.trim() === "") return undefined;
  const [target = "", path = CONFIG_PATH] = value.trim().split(":", 2);
  const [first = "", second] = target.split("/", 2);
  const repo = second === undefined ? { owner: from.owner, name: first } : { owner: first, name: second };
  if (!repo.owner || !repo.name) return undefined;
  return { repo, path: path || CONFIG_PATH };
}

async function loadExtends(
  octokit: GitHub,
  from: RepoRef,
  text: string,
  files: Map<string, string>,
  depth: number,
): Promise<void> {
  if (depth >= MAX_EXTENDS_DEPTH) return;
  let data: unknown;
  try {
    data = parse(text);
  } catch {
    return; // a syntax error is reported by the config validator, with its location
  }
  const target = parseExtends((data as { _extends?: unknown } | null)?._extends, from);
  if (!target) return;
  const key = `${target.repo.owner}/${target.repo.name}:${target.path}`;
  if (files.has(key)) return; // a cycle
  const base = await readFile(octokit, target.repo, target.path);
  if (base === undefined) return;
  files.set(key, base);
  await loadExtends(octokit, target.repo, base, files, depth + 1);
}

interface ContentFile {
  type: string;
  path: string;
  name: string;
  size: number;
  encoding?: string;
  content?: string;
}

async function readFile(
  octokit: GitHub,
  repo: RepoRef,
  path: string,
  ref?: string,
): Promise<string | undefined> {
  const data = await getContent(octokit, repo, path, ref);
  if (!data || Array.isArray(data) || data.type !== "file") return undefined;
  if (data.size > MAX_FILE_BYTES || data.encoding !== "base64" || data.content === undefined)
    return undefined;
  return Buffer.from(data.content, "base64").toString("utf8");
}

async function readDir(
  octokit: GitHub,
  repo: RepoRef,
  dir: string,
  ext: string | string[],
  ref?: string,
): Promise<[string, string][]> {
  const listing = await getContent(octokit, repo, dir, ref);
  if (!Array.isArray(listing)) return [];
  const exts = Array.isArray(ext) ? ext : [ext];
  const wanted = listing
    .filter((f) => f.type === "file" && exts.some((e) => f.name.endsWith(e)) && f.size <= MAX_FILE_BYTES)
    .sort((a, b) => a.path.localeCompare(b.path))
    .slice(0, MAX_DIR_FILES);
  const texts = await Promise.all(wanted.map((f) => readFile(octokit, repo, f.path, ref)));
  return wanted.flatMap((f, i) => (texts[i] === undefined ? [] : [[f.path, texts[i]] as [string, string]]));
}

async function getContent(
  octokit: GitHub,
  repo: RepoRef,
  path: string,
  ref?: string,
): Promise<ContentFile | ContentFile[] | undefined> {
  try {
    const { data } = await octokit.request("GET /repos/{owner}/{repo}/contents/{path}", {
      ...repoParams(repo),
      path,
      ...(ref ? { ref } : {}),
    });
    return data as ContentFile | ContentFile[];
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}
