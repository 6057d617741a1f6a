/**
 * State changes shared by the REST routes, the GraphQL resolvers and the demo's "human" helpers. Each one announces
 * what GitHub would announce with a webhook (see state.ts `emit`).
 */

export { SandboxError } from "./errors.js";
export {
  addComment,
  addLabels,
  createIssue,
  editComment,
  editIssue,
  react,
  removeLabel,
  setIssueState,
} from "./mutations/issues.js";
export {
  addBlockedBy,
  addSubIssue,
  SUB_ISSUE_LEVELS,
  SUB_ISSUES_PER_PARENT,
} from "./mutations/sub-issues.js";
export { checkRunCompleted, createCheckRun, rerequestCheckRun } from "./mutations/checks.js";
export {
  cancelWorkflowRun,
  completeWorkflowRun,
  dispatchWorkflow,
  renderRunName,
  startWorkflowRun,
} from "./mutations/workflows.js";
export { closingIssues, mergePullRequest, openPullRequest } from "./mutations/pulls.js";
export { installApp } from "./mutations/installations.js";
export {
  addProjectItem,
  createProject,
  fieldPrefix,
  optionId,
  replaceFieldOptions,
  setItemField,
} from "./mutations/projects.js";
