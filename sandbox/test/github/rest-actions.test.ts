/** Sandbox REST: workflow dispatch, runs and artifacts. */
import { describe, expect, it } from "vitest";
import { call, events, freshStatePerTest, installationToken, state } from "./rest-support.js";

freshStatePerTest();

describe("workflow dispatch, runs and artifacts", () => {
  it("renders run-name from the inputs, and serves artifacts through a redirect", async () => {
    const app = await installationToken();
    const dispatched: number[] = [];
    state.dispatchHandlers.add((run) => dispatched.push(run.id));
    const res = await call(
      "POST",
      "/repos/acme/web/actions/workflows/trellis-agent.yml/dispatches",
      { ref: "main", inputs: { stage: "dev", issue: "7", attempt_id: "att_0123456789" } },
      app,
    );
    expect(res.status).toBe(204);
    expect(dispatched.length).toBe(1);
    const runId = dispatched[0] as number;
    const run = await call("GET", `/repos/acme/web/actions/runs/${runId}`, undefined, app);
    expect(run.body).toMatchObject({
      display_title: "Trellis dev #7 [trellis:att_0123456789]",
      event: "workflow_dispatch",
      status: "queued",
      head_branch: "main",
    });
    expect(events.map((e) => `${e.name}.${e.action}`)).toContain("workflow_run.requested");

    const { completeWorkflowRun } = await import("../../src/github/index.js");
    const repo = state.repos.get("acme/web");
    if (!repo) throw new Error("no repo");
    completeWorkflowRun(state, repo, runId, {
      conclusion: "success",
      artifacts: [{ name: "trellis-result-att_0123456789", zip: new Uint8Array([80, 75, 5, 6]) }],
    });
    expect(events.filter((e) => e.name === "workflow_run").map((e) => e.action)).toEqual([
      "requested",
      "in_progress",
      "completed",
    ]);
    const artifacts = await call(
      "GET",
      `/repos/acme/web/actions/runs/${runId}/artifacts?name=trellis-result-att_0123456789`,
      undefined,
      app,
    );
    const artifact = (artifacts.body as { artifacts: { id: number; size_in_bytes: number }[] }).artifacts[0];
    expect(artifact?.size_in_bytes).toBe(4);
    const download = await call(
      "GET",
      `/api/v3/repos/acme/web/actions/artifacts/${artifact?.id}/zip`,
      undefined,
      app,
    );
    expect(download.status).toBe(302);
    expect(download.headers["location"]).toBe(`http://127.0.0.1:9/_sandbox/artifacts/${artifact?.id}.zip`);
    const blob = await call("GET", `/_sandbox/artifacts/${artifact?.id}.zip`, undefined, {});
    expect(blob.body).toEqual(new Uint8Array([80, 75, 5, 6]));

    expect(
      (await call("POST", "/repos/acme/web/actions/workflows/nope.yml/dispatches", { ref: "main" }, app))
        .status,
    ).toBe(404);
    expect(
      (
        await call(
          "POST",
          "/repos/acme/web/actions/workflows/trellis-agent.yml/dispatches",
          { ref: "nope" },
          app,
        )
      ).status,
    ).toBe(422);
  });

  it("lists a workflow's runs newest first, filtered by event, status and creation date", async () => {
    const app = await installationToken();
    const dispatch = (attempt: string) =>
      call(
        "POST",
        "/repos/acme/web/actions/workflows/trellis-agent.yml/dispatches",
        { ref: "main", inputs: { stage: "dev", issue: "7", attempt_id: attempt } },
        app,
      );
    expect((await dispatch("att_first")).status).toBe(204);
    expect((await dispatch("att_second")).status).toBe(204);
    type Runs = { total_count: number; workflow_runs: { display_title: string; created_at: string }[] };
    const list = async (path: string) => (await call("GET", path, undefined, app)).body as Runs;
    const mine = await list(
      "/repos/acme/web/actions/workflows/trellis-agent.yml/runs?event=workflow_dispatch",
    );
    expect(mine.workflow_runs.map((r) => r.display_title)).toEqual([
      "Trellis dev #7 [trellis:att_second]",
      "Trellis dev #7 [trellis:att_first]",
    ]);
    expect(
      (await list("/repos/acme/web/actions/workflows/trellis-agent.yml/runs?event=push")).total_count,
    ).toBe(0);
    const since = mine.workflow_runs[1]!.created_at;
    expect((await list(`/repos/acme/web/actions/runs?created=%3E%3D${since}`)).total_count).toBe(2);
    expect((await list(`/repos/acme/web/actions/runs?created=%3C${since}`)).total_count).toBe(0);
    expect((await list("/repos/acme/web/actions/runs?status=queued")).total_count).toBe(2);
    expect((await call("GET", "/repos/acme/web/actions/runs?created=yesterday", undefined, app)).status).toBe(
      422,
    );
  });
});
