import type { GitHubState } from "../state.js";
import { getRepo } from "../state.js";
import { SandboxError } from "../errors.js";
import type { CountedRateLimit } from "../rate-limits.js";
import type { Args, Obj } from "./objects.js";
import { ownerObj, repoObj, resolveNode } from "./objects.js";

/** The GraphQL query root: owners, repositories, nodes, the viewer and the rate limit. */

export function queryRoot(state: GitHubState, login: string, counted: CountedRateLimit | undefined): Obj {
  const owner = (args: Args, type?: "Organization" | "User") => {
    const u = state.users.get(String(args["login"]).toLowerCase());
    if (
      !u ||
      (type === "Organization" && u.type !== "Organization") ||
      (type === "User" && u.type === "Organization")
    )
      throw new SandboxError(
        404,
        `Could not resolve to a${type === "Organization" ? "n Organization" : " User"} with the login of '${String(args["login"])}'.`,
      );
    return ownerObj(state, u.login);
  };
  return {
    organization: (args: Args) => owner(args, "Organization"),
    user: (args: Args) => owner(args, "User"),
    repositoryOwner: (args: Args) =>
      state.users.has(String(args["login"]).toLowerCase()) ? owner(args) : null,
    repository: (args: Args) => {
      const repo = getRepo(state, String(args["owner"]), String(args["name"]));
      if (!repo)
        throw new SandboxError(
          404,
          `Could not resolve to a Repository with the name '${String(args["owner"])}/${String(args["name"])}'.`,
        );
      return repoObj(state, repo);
    },
    node: (args: Args) => resolveNode(state, String(args["id"])),
    nodes: (args: Args) => ((args["ids"] as string[]) ?? []).map((id) => resolveNode(state, id)),
    viewer: () => ownerObj(state, login),
    rateLimit: graphqlRateLimit(state, counted),
  };
}

/** `rateLimit` as the request's headers say (rate-limits.ts counted it), or a fresh budget when served directly. */
function graphqlRateLimit(state: GitHubState, counted: CountedRateLimit | undefined): Obj {
  if (!counted)
    return {
      limit: 5000,
      cost: 1,
      remaining: 4999,
      used: 1,
      resetAt: new Date(state.clock().getTime() + 3600_000).toISOString(),
      nodeCount: 1,
    };
  return {
    limit: counted.limit,
    cost: counted.cost,
    remaining: counted.remaining,
    used: counted.used,
    resetAt: new Date(counted.reset * 1000).toISOString(),
    nodeCount: 1,
  };
}
