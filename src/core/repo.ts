/** A repository, as every layer names it: `{ owner, name }`, written `owner/name`. */

export interface RepoRef {
  owner: string;
  name: string;
  /** GitHub's numeric id, when the event carried it. */
  id?: number;
}

/** `owner/name`: how GitHub writes a repository's full name, and the store's key for it. */
export const repoFullName = (repo: Pick<RepoRef, "owner" | "name">): string => `${repo.owner}/${repo.name}`;

/** `owner/name` back to a RepoRef, or undefined when it is not that shape. */
export function parseRepoFullName(full: string): RepoRef | undefined {
  const m = /^([\w.-]+)\/([\w.-]+)$/.exec(full);
  return m ? { owner: m[1] ?? "", name: m[2] ?? "" } : undefined;
}
