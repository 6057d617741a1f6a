/** The seeded sandbox GitHub the REST tests call: a fresh state per test, with the events it announces. */
import { beforeEach, expect } from "vitest";
import type { GitHubState, StateEvent } from "../../src/github/index.js";
import { createGitHubState, handleRequest, onStateEvent } from "../../src/github/index.js";

const T0 = new Date("2025-01-02T03:04:05Z");
// Live bindings: each test file sees the state its `beforeEach` seeded.
export let state: GitHubState;
export let events: StateEvent[];
export const USER = { authorization: "token user-token", host: "127.0.0.1:9" };
export const OUTSIDER = { authorization: "token outsider-token", host: "127.0.0.1:9" };

function seed(): GitHubState {
  return createGitHubState({
    clock: () => T0,
    users: [{ login: "acme", type: "Organization" }, "alice", "mallory"],
    repos: [
      {
        owner: "acme",
        name: "web",
        files: {
          "README.md": "# web\n",
          ".github/trellis.yml": "parallel: 2\n",
          ".github/trellis/agents/dev.md": "x",
        },
        collaborators: { alice: "write", mallory: "read" },
        labels: ["bug"],
        workflows: [
          {
            path: ".github/workflows/trellis-agent.yml",
            name: "Trellis agent",
            runName: "Trellis ${{ inputs.stage }} #${{ inputs.issue }} [trellis:${{ inputs.attempt_id }}]",
          },
        ],
      },
    ],
    userTokens: { "user-token": "alice", "outsider-token": "mallory" },
  });
}

export async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = USER,
) {
  return handleRequest(state, { method, path, headers, body });
}

export async function installationToken(): Promise<Record<string, string>> {
  const [installation] = [...state.installations.values()];
  const res = await call("POST", `/app/installations/${installation?.id}/access_tokens`, undefined, {
    authorization: "Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjF9.c2ln",
    host: "h",
  });
  expect(res.status).toBe(201);
  return { authorization: `token ${(res.body as { token: string }).token}`, host: "127.0.0.1:9" };
}

/** Seeds a fresh state before each test of the calling file and records what it announces. */
export function freshStatePerTest(): void {
  beforeEach(() => {
    state = seed();
    events = [];
    onStateEvent(state, (e) => events.push(e));
  });
}
