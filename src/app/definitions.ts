/**
 * Definitions per repository, cached briefly in the App's caches: every event needs them, and they change rarely.
 *
 * A push that changes them drops them at once (src/handlers/push.ts); the expiry catches what no push announces
 * (a config `extends` from another repository, a missed delivery).
 */
import { loadDefinitions, type Definitions } from "../core/definitions.js";
import { formatDiagnostic } from "../core/diagnostics.js";
import { loadRepoFiles } from "../github/repo-files.js";
import type { DefinitionsOutcome } from "./caches.js";
import { repoName, type AppDeps, type Target } from "./runtime.js";

const DEFINITIONS_TTL_MS = 300_000;

/** Drops the cached definitions of one repository (`owner/name`), or of all. */
export function forgetDefinitions(deps: Pick<AppDeps, "caches">, repo?: string): void {
  if (repo === undefined) deps.caches.definitions.clear();
  else deps.caches.definitions.delete(repo);
}

export async function definitionsFor(
  deps: AppDeps,
  event: { installationId?: number; repo: Target["repo"] },
): Promise<DefinitionsOutcome> {
  const cache = deps.caches.definitions;
  const key = repoName(event.repo);
  const hit = cache.get(key);
  if (hit && deps.now() - hit.at < DEFINITIONS_TTL_MS) return hit.value;
  const value = (async (): Promise<DefinitionsOutcome> => {
    const octokit = await deps.github(event.installationId);
    const repoFiles = await loadRepoFiles(octokit, event.repo);
    const loaded = loadDefinitions({ builtins: deps.builtins, repo: repoFiles });
    if (!loaded.value || loaded.errors.length > 0)
      return { ok: false, errors: loaded.errors.map(formatDiagnostic) };
    return { ok: true, defs: loaded.value };
  })();
  cache.set(key, { at: deps.now(), value });
  value.catch(() => cache.delete(key));
  return value;
}

/** The definitions in force for an effect's repository (they were valid when the effect was stored). */
export async function definitionsOf(deps: AppDeps, target: Target): Promise<Definitions> {
  const loaded = await definitionsFor(deps, target);
  if (!loaded.ok)
    throw new Error(`the repository's Trellis definitions are invalid: ${loaded.errors.join("; ")}`);
  return loaded.defs;
}
