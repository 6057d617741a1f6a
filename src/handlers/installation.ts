import type { EmitterWebhookEvent } from "@octokit/webhooks";
import type { AppIdentity, DomainEvent } from "./events.js";
import { toActor } from "./events.js";

export type InstallationPayload = EmitterWebhookEvent<"installation">["payload"];

/** installation created / deleted → installation, with the repositories it covers. */
export function toDomainEvent(
  payload: InstallationPayload,
  deliveryId: string,
  self: AppIdentity = {},
): DomainEvent | undefined {
  if (payload.action !== "created" && payload.action !== "deleted") return undefined;
  const account = payload.installation.account;
  const login = account && "login" in account ? account.login : (account?.slug ?? "");
  return {
    kind: "installation",
    action: payload.action,
    deliveryId,
    installationId: payload.installation.id,
    actor: toActor(payload.sender, self),
    account: {
      login,
      id: account?.id ?? 0,
      type: account && "type" in account ? String(account.type) : "Enterprise",
    },
    repos: (payload.repositories ?? []).map((r) => {
      const [owner = login, name = r.name] = r.full_name.split("/");
      return { owner, name, id: r.id };
    }),
  };
}
