/**
 * The repository's Trellis definitions are cached between events; a push to the default branch that
 * changes them (delivered to the real App as GitHub sends it) makes the next event read them again.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Db } from "../../src/store/db.js";
import { INSTALLATION_ID, startHarness, type Harness } from "../support/app-harness.js";
import { engineCases } from "../support/engines.js";
import { githubApi, useGitHubNock } from "../support/github-routes.js";
import { examplePayload } from "../support/webhooks.js";

const installation = { id: INSTALLATION_ID };

describe.each(engineCases().filter((c) => c.engine.name === "pglite"))(
  "definitions on $title",
  ({ engine }) => {
    useGitHubNock();
    let db: Db;
    let h: Harness | undefined;
    beforeAll(async () => {
      db = await engine.open();
    });
    afterAll(async () => {
      await h?.close();
      await db.close();
    });

    test("are read once, and again after a push that changes them", async () => {
      let reads = 0;
      const api = githubApi().persist();
      api
        .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
        .reply(201, { token: "ghs_testtoken", expires_at: "2099-01-01T00:00:00Z" });
      api.get(/\/contents\//).reply(() => {
        reads++;
        return [404, { message: "Not Found" }];
      });
      h = await startHarness(db);
      const labeled = () =>
        h!.deliver("issues", examplePayload("issues", "labeled", { label: { name: "bug" }, installation }));
      const push = (files: string[]) => {
        const payload = examplePayload("push", undefined, { installation }, 4);
        const commits = [{ ...payload.commits[0]!, added: [], removed: [], modified: files }];
        return h!.deliver("push", { ...payload, commits });
      };

      await labeled();
      await h.drain();
      const once = reads;
      expect(once).toBeGreaterThan(0);
      await labeled();
      await h.drain();
      expect(reads).toBe(once); // cached

      await push(["README.md"]);
      await labeled();
      await h.drain();
      expect(reads).toBe(once); // a push elsewhere changes nothing

      await push([".github/trellis.yml"]);
      await labeled();
      await h.drain();
      expect(reads).toBe(2 * once); // read again
    });
  },
);
