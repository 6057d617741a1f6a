import type { RepoRef } from "../core/repo.js";
import type { GitHub } from "./client.js";
import { repoParams, statusOf } from "./client.js";

/** A repository role; custom organization roles are reported by their base permission. */
export type Role = "admin" | "maintain" | "write" | "triage" | "read" | "none";

const ROLES = new Set<string>(["admin", "maintain", "write", "triage", "read", "none"]);

export type PermissionChecker = (octokit: GitHub, repo: RepoRef, username: string) => Promise<Role>;

export interface PermissionCacheOptions {
  /** Most entries kept; the oldest is evicted first. */
  maxEntries?: number;
  /** The clock, injectable for tests. */
  now?: () => number;
}

/**
 * A role lookup (GET /repos/{owner}/{repo}/collaborators/{username}/permission) cached for `ttlMs` in a bounded
 * in-memory map, so a burst of slash commands costs one request. Concurrent lookups share one request; failures
 * are not cached. A user who is not a collaborator (404) has role "none".
 */
export function createPermissionChecker(
  ttlMs: number,
  options: PermissionCacheOptions = {},
): PermissionChecker {
  const maxEntries = options.maxEntries ?? 1000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { role: Promise<Role>; expires: number }>();

  return (octokit, repo, username) => {
    const key = `${repo.owner}/${repo.name}#${username}`.toLowerCase();
    const t = now();
    const hit = cache.get(key);
    if (hit && hit.expires > t) return hit.role;
    cache.delete(key);
    const role = lookupRole(octokit, repo, username);
    const entry = { role, expires: t + ttlMs };
    cache.set(key, entry);
    role.catch(() => {
      if (cache.get(key) === entry) cache.delete(key);
    });
    while (cache.size > maxEntries) {
      const oldest = cache.keys().next().value;
      if (oldest === undefined) break;
      cache.delete(oldest);
    }
    return role;
  };
}

async function lookupRole(octokit: GitHub, repo: RepoRef, username: string): Promise<Role> {
  try {
    const { data } = await octokit.request("GET /repos/{owner}/{repo}/collaborators/{username}/permission", {
      ...repoParams(repo),
      username,
    });
    if (ROLES.has(data.role_name)) return data.role_name as Role;
    return ROLES.has(data.permission) ? (data.permission as Role) : "none";
  } catch (error) {
    if (statusOf(error) === 404) return "none";
    throw error;
  }
}
