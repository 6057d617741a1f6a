/** The sandbox's local GitHub stand-in: state, REST and GraphQL handling, webhooks, the HTTP server, git on disk. */
export * from "./state.js";
export * from "./mutations.js";
export { handleRequest } from "./rest.js";
export type { SandboxRequest, SandboxResponse } from "./rest.js";
export { handleGraphQL, githubSchema, graphqlProblems } from "./graphql.js";
export { buildPayload, deliver, examplePayload, sign } from "./webhooks.js";
export type { Delivery } from "./webhooks.js";
export { createGitHubServer } from "./server.js";
export type { GitHubServer, GitHubServerOptions, RequestLogEntry } from "./server.js";
export { createRepoOnDisk, gitBackend } from "./git.js";
export { createMemoryBackend } from "./backend.js";
export type { RepoBackend } from "./backend.js";
export { requestProblems, matchOperation, githubOperations } from "./openapi.js";
export { responseProblems, webhookProblems } from "./schemas.js";
export { nodeId, parseNodeId } from "./shapes.js";
