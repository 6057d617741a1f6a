import type { GitHubState, Installation, Repository } from "../state.js";
import { ensureUser, fullName, newId, now } from "../state.js";
import { installationJson, nodeId } from "../shapes.js";

/** Installing the App on an account's repositories. */

export function installApp(
  state: GitHubState,
  account: string,
  repos: Repository[],
  sender: string,
): Installation {
  ensureUser(state, account);
  const installation: Installation = {
    id: newId(state),
    account,
    repos: repos.map(fullName),
    createdAt: now(state),
  };
  state.installations.set(installation.id, installation);
  for (const listener of state.listeners)
    listener({
      name: "installation",
      action: "created",
      sender,
      installationId: installation.id,
      fields: {
        installation: installationJson(state, installation),
        repositories: repos.map((r) => ({
          id: r.id,
          node_id: nodeId("R", r.id),
          name: r.name,
          full_name: fullName(r),
          private: r.private,
        })),
      },
    });
  return installation;
}
