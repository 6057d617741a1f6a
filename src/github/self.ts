import type { GitHub } from "./client.js";

/**
 * Who the App is, to tell what it wrote (comments, issues) from what others wrote: a hidden marker is plain text
 * that anyone can copy, so a marker counts only on an object the App authored.
 */
export interface SelfIdentity {
  appId?: number;
  /** The App's bot login, `<slug>[bot]`. */
  login?: string;
}

/** An issue, pull request or comment as GitHub's REST API returns it: its author and the App that acted. */
export interface Authored {
  user?: { login: string; type?: string } | null;
  performed_via_github_app?: { id: number } | null;
}

/**
 * Whether the App wrote `object`: made through an App's token, GitHub names the App in `performed_via_github_app`
 * and the author is the App's bot user `<slug>[bot]` of type Bot (GitHub Docs, "Authenticating as a GitHub App
 * installation": requests made by an app installation are attributed to the app). Without a known identity, only a Bot
 * author counts.
 */
export function writtenBySelf(object: Authored, self: SelfIdentity): boolean {
  if (self.appId !== undefined && object.performed_via_github_app?.id === self.appId) return true;
  if (self.login !== undefined) return object.user?.login.toLowerCase() === self.login.toLowerCase();
  if (self.appId !== undefined) return false;
  return object.user?.type === "Bot";
}

/**
 * The App's own id and slug (GET /app), asked with the App's JWT client (Probot's `app.auth()`), not an
 * installation's. Undefined when GitHub answers without a body.
 */
export async function readAppIdentity(octokit: GitHub): Promise<{ id: number; slug?: string } | undefined> {
  const { data } = await octokit.request("GET /app");
  if (!data) return undefined;
  return { id: data.id, slug: data.slug ?? undefined };
}
