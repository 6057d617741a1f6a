/** Sandbox REST: check runs, and GitHub's text limits on comments and check runs. */
import { describe, expect, it } from "vitest";
import { call, events, freshStatePerTest, installationToken } from "./rest-support.js";

freshStatePerTest();

describe("check runs", () => {
  it("creates, updates (appending annotations) and lists by ref with external ids; only the App may write", async () => {
    const app = await installationToken();
    const branch = await call("GET", "/repos/acme/web/branches/main", undefined, app);
    const sha = (branch.body as { commit: { sha: string } }).commit.sha;
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    const created = await call(
      "POST",
      "/repos/acme/web/check-runs",
      { name: "Trellis / dev", head_sha: sha, external_id: "run-1:dev", status: "queued" },
      app,
    );
    expect(created.status).toBe(201);
    const id = (created.body as { id: number }).id;
    const annotation = {
      path: "a.ts",
      start_line: 1,
      end_line: 1,
      annotation_level: "failure",
      message: "boom",
    };
    const done = await call(
      "PATCH",
      `/repos/acme/web/check-runs/${id}`,
      { conclusion: "failure", output: { title: "t", summary: "s", annotations: [annotation] } },
      app,
    );
    expect(done.body).toMatchObject({
      status: "completed",
      conclusion: "failure",
      output: { annotations_count: 1 },
    });
    await call(
      "PATCH",
      `/repos/acme/web/check-runs/${id}`,
      { output: { title: "t", summary: "s", annotations: [annotation] } },
      app,
    );
    const annotations = await call("GET", `/repos/acme/web/check-runs/${id}/annotations`, undefined, app);
    expect((annotations.body as unknown[]).length).toBe(2);
    const listed = await call(
      "GET",
      `/repos/acme/web/commits/${sha}/check-runs?check_name=${encodeURIComponent("Trellis / dev")}&filter=all`,
      undefined,
      app,
    );
    expect(listed.body).toMatchObject({ total_count: 1, check_runs: [{ id, external_id: "run-1:dev" }] });
    expect(events.filter((e) => e.name === "check_run").map((e) => e.action)).toEqual([
      "created",
      "completed",
    ]);

    expect((await call("POST", "/repos/acme/web/check-runs", { name: "x", head_sha: sha })).status).toBe(403);
    const badSha = await call(
      "POST",
      "/repos/acme/web/check-runs",
      { name: "x", head_sha: "f".repeat(40) },
      app,
    );
    expect(badSha.status).toBe(422);
    const badStatus = await call(
      "POST",
      "/repos/acme/web/check-runs",
      { name: "x", head_sha: sha, status: "done" },
      app,
    );
    expect(badStatus.status).toBe(422);
  });
});

describe("GitHub's text limits", () => {
  it("takes a comment body of 65,536 characters (code points) and refuses one more, as GitHub answers", async () => {
    await call("POST", "/repos/acme/web/issues", { title: "T" });
    const at = await call("POST", "/repos/acme/web/issues/1/comments", { body: "x".repeat(65_536) });
    expect(at.status).toBe(201);
    // An emoji is two UTF-16 units but one character: 65,536 of them still fit.
    const emoji = await call("POST", "/repos/acme/web/issues/1/comments", { body: "🌱".repeat(65_536) });
    expect(emoji.status).toBe(201);
    const over = await call("POST", "/repos/acme/web/issues/1/comments", { body: "x".repeat(65_537) });
    expect(over.status).toBe(422);
    expect(over.body).toMatchObject({
      message: "Validation Failed",
      errors: [
        {
          resource: "IssueComment",
          code: "unprocessable",
          field: "data",
          message: "Body is too long (maximum is 65536 characters)",
        },
      ],
    });
    const id = (at.body as { id: number }).id;
    const edit = await call("PATCH", `/repos/acme/web/issues/comments/${id}`, { body: "y".repeat(65_537) });
    expect(edit.status).toBe(422);
    // An issue's body has the same limit, on creation and on edit.
    expect(
      (await call("POST", "/repos/acme/web/issues", { title: "U", body: "x".repeat(65_537) })).status,
    ).toBe(422);
    expect((await call("PATCH", "/repos/acme/web/issues/1", { body: "x".repeat(65_537) })).status).toBe(422);
  });

  it("takes a check run summary and text of 65,535 characters and 50 annotations a request, no more", async () => {
    const app = await installationToken();
    const branch = await call("GET", "/repos/acme/web/branches/main", undefined, app);
    const sha = (branch.body as { commit: { sha: string } }).commit.sha;
    const annotation = {
      path: "a.ts",
      start_line: 1,
      end_line: 1,
      annotation_level: "warning",
      message: "m",
    };
    const create = (output: Record<string, unknown>) =>
      call("POST", "/repos/acme/web/check-runs", { name: "Trellis / dev", head_sha: sha, output }, app);
    const ok = await create({
      title: "t",
      summary: "s".repeat(65_535),
      text: "x".repeat(65_535),
      annotations: Array(50).fill(annotation),
    });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ output: { annotations_count: 50 } });
    expect((await create({ title: "t", summary: "s".repeat(65_536) })).body).toMatchObject({
      errors: [{ field: "output.summary", message: "summary is too long (maximum is 65535 characters)" }],
    });
    expect((await create({ title: "t", summary: "s", text: "x".repeat(65_536) })).status).toBe(422);
    const tooMany = await create({ title: "t", summary: "s", annotations: Array(51).fill(annotation) });
    expect(tooMany.status).toBe(422);
    expect(tooMany.body).toMatchObject({
      errors: [{ message: "Only 50 annotations are allowed per request" }],
    });
    // An update is held to the same limits; further annotations come in further updates.
    const id = (ok.body as { id: number }).id;
    const update = (output: Record<string, unknown>) =>
      call("PATCH", `/repos/acme/web/check-runs/${id}`, { output }, app);
    expect((await update({ title: "t", summary: "s", annotations: Array(51).fill(annotation) })).status).toBe(
      422,
    );
    expect((await update({ title: "t", summary: "s", annotations: Array(50).fill(annotation) })).status).toBe(
      200,
    );
    const all = await call(
      "GET",
      `/repos/acme/web/check-runs/${id}/annotations?per_page=100`,
      undefined,
      app,
    );
    expect((all.body as unknown[]).length).toBe(100);
  });
});
