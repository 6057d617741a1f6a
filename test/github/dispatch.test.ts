import { describe, expect, it } from "vitest";
import { toDispatchInputs } from "../../src/core/dispatch.js";
import { isTransient } from "../../src/github/client.js";
import { cancelWorkflowRun, dispatchWorkflow, findDispatchedRun } from "../../src/github/dispatch.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { R, repo, testOctokit } from "./helpers.js";

useGitHubNock();

const inputs = toDispatchInputs({
  attemptId: "att_0123456789abcdef",
  runId: "run_1",
  repo: { owner: repo.owner, name: repo.name },
  issue: 1,
  workflow: "dev",
  stage: "implement",
  profile: "dev",
  attempt: 1,
  branch: "trellis/1-spelling",
  baseRef: "main",
  feedback: [],
  answers: [],
  costCapUsd: 5,
  timeoutMinutes: 30,
});

describe("dispatchWorkflow", () => {
  it("dispatches the agent workflow on the ref with the attempt's inputs", async () => {
    githubApi()
      .post(`${R}/actions/workflows/trellis-agent.yml/dispatches`, { ref: "main", inputs: { ...inputs } })
      .reply(204);
    await expect(
      dispatchWorkflow(testOctokit(), repo, { workflowFile: "trellis-agent.yml", ref: "main", inputs }),
    ).resolves.toEqual({});
  });

  it("returns the run's id and URLs when asked for run details", async () => {
    githubApi()
      .post(`${R}/actions/workflows/trellis-agent.yml/dispatches`, {
        ref: "main",
        inputs: { ...inputs },
        return_run_details: true,
      })
      .reply(200, {
        workflow_run_id: 30433642,
        run_url: `https://api.github.com${R}/actions/runs/30433642`,
        html_url: "https://github.com/Codertocat/Hello-World/actions/runs/30433642",
      });
    const outcome = await dispatchWorkflow(testOctokit(), repo, {
      workflowFile: "trellis-agent.yml",
      ref: "main",
      inputs,
      returnRunDetails: true,
    });
    expect(outcome).toEqual({
      runId: 30433642,
      runUrl: `https://api.github.com${R}/actions/runs/30433642`,
      htmlUrl: "https://github.com/Codertocat/Hello-World/actions/runs/30433642",
    });
  });

  it("dispatches without run details where GitHub (an older Enterprise Server) refuses the parameter", async () => {
    githubApi()
      .post(`${R}/actions/workflows/trellis-agent.yml/dispatches`, {
        ref: "main",
        inputs: { ...inputs },
        return_run_details: true,
      })
      .reply(422, { message: 'Invalid request.\n\n"return_run_details" is not a permitted key.' });
    githubApi()
      .post(`${R}/actions/workflows/trellis-agent.yml/dispatches`, { ref: "main", inputs: { ...inputs } })
      .reply(204);
    await expect(
      dispatchWorkflow(testOctokit(), repo, {
        workflowFile: "trellis-agent.yml",
        ref: "main",
        inputs,
        returnRunDetails: true,
      }),
    ).resolves.toEqual({});
  });

  it("surfaces failures with a status the worker can classify", async () => {
    githubApi()
      .post(`${R}/actions/workflows/trellis-agent.yml/dispatches`)
      .reply(422, { message: "Workflow does not have 'workflow_dispatch' trigger" });
    const error: unknown = await dispatchWorkflow(testOctokit(), repo, {
      workflowFile: "trellis-agent.yml",
      ref: "main",
      inputs,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 422 });
    expect(isTransient(error)).toBe(false);

    githubApi().post(`${R}/actions/workflows/trellis-agent.yml/dispatches`).reply(502, "Bad Gateway");
    const flaky: unknown = await dispatchWorkflow(testOctokit(), repo, {
      workflowFile: "trellis-agent.yml",
      ref: "main",
      inputs,
    }).catch((e: unknown) => e);
    expect(isTransient(flaky)).toBe(true);
  });

  it("never dispatches on a pull request ref (a fork's code)", async () => {
    for (const ref of ["refs/pull/7/head", "refs/pull/7/merge", "pull/7/head"])
      await expect(
        dispatchWorkflow(testOctokit(), repo, { workflowFile: "trellis-agent.yml", ref, inputs }),
      ).rejects.toThrow(/agents never run a fork's code/);
  });
});

describe("cancelWorkflowRun", () => {
  it("cancels a run (202), and takes GitHub's 409 for a completed run as done", async () => {
    githubApi().post(`${R}/actions/runs/30433642/cancel`).reply(202, {});
    await expect(cancelWorkflowRun(testOctokit(), repo, 30433642)).resolves.toBe("cancelled");
    githubApi()
      .post(`${R}/actions/runs/30433642/cancel`)
      .reply(409, { message: "Cannot cancel a workflow run that is completed." });
    await expect(cancelWorkflowRun(testOctokit(), repo, 30433642)).resolves.toBe("completed");
    githubApi().post(`${R}/actions/runs/30433642/cancel`).reply(404, { message: "Not Found" });
    await expect(cancelWorkflowRun(testOctokit(), repo, 30433642)).rejects.toMatchObject({ status: 404 });
  });
});

describe("findDispatchedRun", () => {
  it("finds the run an earlier try started by the attempt id in its name, among the recent dispatch runs", async () => {
    const since = new Date("2026-12-08T10:00:00Z");
    const runs = (titles: string[]) => ({
      total_count: titles.length,
      workflow_runs: titles.map((t, i) => ({
        id: 100 + i,
        display_title: t,
        html_url: `https://x/${100 + i}`,
      })),
    });
    githubApi()
      .get(`${R}/actions/workflows/trellis-agent.yml/runs`)
      .query({ event: "workflow_dispatch", created: ">=2026-12-08T10:00:00.000Z", per_page: "100" })
      .times(2)
      .reply(
        200,
        runs(["Trellis dev #1 [trellis:att_other000000]", "Trellis dev #1 [trellis:att_0123456789abcdef]"]),
      );
    const find = (attemptId: string) =>
      findDispatchedRun(testOctokit(), repo, { workflowFile: "trellis-agent.yml", attemptId, since });
    await expect(find("att_0123456789abcdef")).resolves.toEqual({ runId: 101, htmlUrl: "https://x/101" });
    await expect(find("att_never0000000")).resolves.toBeUndefined();
  });
});
