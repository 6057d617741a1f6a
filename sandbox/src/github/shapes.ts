/**
 * GitHub's JSON shapes for the sandbox's records: the fields Trellis and its libraries read, with ids, node ids,
 * urls and timestamps like the real API's.
 */

export { nodeId, parseNodeId } from "./shapes/node-ids.js";
export {
  appJson,
  authenticatedAppJson,
  GITHUB_ACTIONS_APP,
  githubActionsAppJson,
  installationJson,
  userJson,
} from "./shapes/accounts.js";
export { fullRepoJson, minimalRepoJson, repoJson } from "./shapes/repos.js";
export { commentJson, issueJson, labelJson, pullJson, reactionJson } from "./shapes/issues.js";
export { artifactJson, checkRunJson, workflowJson, workflowRunJson } from "./shapes/actions.js";
