import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { AppManifest } from "../../src/github/manifest.js";
import { manifestProblems, webhookEventRules } from "../../src/github/manifest.js";

/** The manifest Probot posts to GitHub: app.yml over its generated fields (probot lib/manifest-creation.js). */
function probotManifest(appYml: string): AppManifest {
  const file = parse(appYml) as AppManifest;
  return {
    hook_attributes: { url: "https://smee.io/abc" },
    redirect_url: "http://localhost:3000/probot/setup",
    public: true,
    version: "v1",
    ...file,
  };
}

const repoManifest = () => probotManifest(readFileSync(new URL("../../../app.yml", import.meta.url), "utf8"));

describe("App manifest checked as GitHub checks it", () => {
  it("accepts the repository's app.yml", () => {
    expect(manifestProblems(repoManifest())).toEqual([]);
  });

  it("refuses installation in default_events, as the old app.yml had it", () => {
    const old = repoManifest();
    old.default_events = [...(old.default_events ?? []), "installation"];
    expect(manifestProblems(old)).toEqual([
      "Default events unsupported: installation",
      "Default events are not supported by permissions: installation",
    ]);
  });

  it("refuses an event whose documented permission is not asked for", () => {
    const m = repoManifest();
    const { organization_projects: _projects, actions: _actions, ...rest } = m.default_permissions ?? {};
    m.default_permissions = rest;
    expect(manifestProblems(m)).toEqual([
      "Default events are not supported by permissions: workflow_run and projects_v2_item",
    ]);
    m.default_permissions = { metadata: "read" };
    expect(manifestProblems(m)).toEqual([
      "Default events are not supported by permissions: issues, issue_comment, pull_request, check_run, workflow_run, projects_v2_item, and push",
    ]);
  });

  it("accepts read access where the docs ask for at least read, and either of two named permissions", () => {
    const m: AppManifest = {
      url: "https://example.com",
      default_events: ["push", "check_run", "milestone", "projects_v2_item"],
      default_permissions: {
        contents: "read",
        checks: "read",
        pull_requests: "read",
        organization_projects: "read",
      },
    };
    expect(manifestProblems(m)).toEqual([]);
    // A repository Projects permission does not cover an organization's Projects (v2) events.
    m.default_permissions = {
      contents: "read",
      checks: "read",
      pull_requests: "read",
      repository_projects: "write",
    };
    expect(manifestProblems(m)).toEqual([
      "Default events are not supported by permissions: projects_v2_item",
    ]);
  });

  it("refuses unknown events and a manifest without url", () => {
    expect(manifestProblems({ default_events: ["pushes"] })).toEqual([
      "url is required",
      "Default events unsupported: pushes",
      "Default events are not supported by permissions: pushes",
    ]);
  });

  it("reads each event's rule from GitHub's documentation text", () => {
    const rules = webhookEventRules();
    expect(rules.get("installation")?.byDefault).toBe(true);
    expect(rules.get("installation_repositories")?.byDefault).toBe(true);
    expect(rules.get("push")?.anyOf).toEqual(["contents"]);
    expect(rules.get("workflow_run")?.anyOf).toEqual(["actions"]);
    expect(rules.get("check_run")?.anyOf).toEqual(["checks"]);
    expect(rules.get("projects_v2_item")?.anyOf).toEqual(["organization_projects"]);
    expect(rules.get("issue_comment")?.anyOf).toEqual(["issues"]);
    expect(rules.get("milestone")?.anyOf).toEqual(["issues", "pull_requests"]);
    // Every documented permission name maps to a manifest key, but two that have none in `app-permissions`
    // ("Meta" app, "Repository security advisories"); a newer package naming another permission shows up here.
    const unmapped = [...rules.values()].filter((r) => r.documented.length > 0 && r.anyOf.length === 0);
    expect(unmapped.map((r) => r.event).sort()).toEqual(["meta", "repository_advisory"]);
  });
});
