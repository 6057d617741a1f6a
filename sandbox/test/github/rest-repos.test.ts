/** Sandbox REST: repositories, contents, permissions and the App's authentication. */
import { describe, expect, it } from "vitest";
import { call, freshStatePerTest, installationToken, OUTSIDER, state, USER } from "./rest-support.js";

freshStatePerTest();

describe("repositories, contents, permissions, the App", () => {
  it("serves the repo, file and directory contents", async () => {
    expect((await call("GET", "/repos/acme/web")).body).toMatchObject({
      full_name: "acme/web",
      default_branch: "main",
    });
    const file = await call("GET", "/repos/acme/web/contents/.github%2Ftrellis.yml?ref=main");
    expect(Buffer.from((file.body as { content: string }).content, "base64").toString()).toBe(
      "parallel: 2\n",
    );
    const dir = await call("GET", "/repos/acme/web/contents/.github/trellis/agents");
    expect(dir.body).toMatchObject([{ name: "dev.md", type: "file", path: ".github/trellis/agents/dev.md" }]);
    expect((await call("GET", "/repos/acme/web/contents/missing.txt")).body).toEqual({
      message: "Not Found",
      documentation_url: "https://docs.github.com/rest",
      status: "404",
    });
  });

  it("reports collaborator roles and 404s non-collaborators", async () => {
    const perm = await call("GET", "/repos/acme/web/collaborators/alice/permission");
    expect(perm.body).toMatchObject({ permission: "write", role_name: "write", user: { login: "alice" } });
    const read = await call("GET", "/repos/acme/web/collaborators/mallory/permission", undefined, OUTSIDER);
    expect(read.body).toMatchObject({ permission: "read", role_name: "read" });
    state.users.set("eve", { id: 1, login: "eve", type: "User" });
    expect((await call("GET", "/repos/acme/web/collaborators/eve/permission")).status).toBe(404);
  });

  it("authenticates like GitHub: JWT only for /app, bad tokens 401, anonymous writes 401, unknown routes 404", async () => {
    const jwt = { authorization: "Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjF9.c2ln" };
    expect((await call("GET", "/app", undefined, jwt)).body).toMatchObject({ id: 4242, slug: "trellis" });
    expect((await call("GET", "/repos/acme/web", undefined, jwt)).status).toBe(401);
    expect((await call("GET", "/app", undefined, USER)).status).toBe(401);
    expect(
      (await call("GET", "/repos/acme/web", undefined, { authorization: "token nope" })).body,
    ).toMatchObject({
      message: "Bad credentials",
    });
    expect((await call("POST", "/repos/acme/web/issues", { title: "x" }, {})).status).toBe(401);
    expect((await call("GET", "/repos/acme/web/nonsense")).status).toBe(404);
    const unimplemented = await call("GET", "/repos/acme/web/releases");
    expect(unimplemented.status).toBe(404);
    expect((unimplemented.body as { message: string }).message).toMatch(
      /does not implement repos\/list-releases/,
    );
    const app = await installationToken();
    expect((await call("GET", "/repos/acme/web/installation", undefined, jwt)).body).toMatchObject({
      app_id: 4242,
    });
    expect((await call("GET", "/repos/acme/other", undefined, app)).status).toBe(404);
  });
});
