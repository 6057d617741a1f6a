import type { Actor, GitHubState } from "../state.js";
import { fullName } from "../state.js";
import type { CreateCommitInput } from "../commits.js";
import { createCommitOnBranch, refNodeId } from "../commits.js";
import type { Args, Obj } from "./objects.js";

/**
 * The mutation root for mutations that write git (commits.ts): executed asynchronously, after GitHub's schema has
 * validated the document and coerced the input (required fields, types).
 */
export function commitMutations(state: GitHubState, login: string, actor: Actor): Obj {
  return {
    createCommitOnBranch: async (args: Args) => {
      const input = (args["input"] ?? {}) as CreateCommitInput & { clientMutationId?: string };
      const { repo, branch, oid } = await createCommitOnBranch(state, actor, login, input);
      const commit = await repo.backend.commit(oid);
      const url = `${state.htmlBase}/${fullName(repo)}/commit/${oid}`;
      const commitObj = {
        __typename: "Commit",
        id: Buffer.from(`Commit:${fullName(repo)}:${oid}`).toString("base64url"),
        oid,
        abbreviatedOid: oid.slice(0, 7),
        url,
        commitUrl: url,
        resourcePath: `/${fullName(repo)}/commit/${oid}`,
        message: commit?.message ?? "",
        messageHeadline: input.message.headline,
        messageBody: input.message.body ?? "",
        committedDate: commit?.date ?? new Date().toISOString(),
        authoredDate: commit?.date ?? new Date().toISOString(),
      };
      return {
        clientMutationId: input.clientMutationId ?? null,
        commit: commitObj,
        ref: {
          __typename: "Ref",
          id: refNodeId(repo, branch),
          name: branch,
          prefix: "refs/heads/",
          target: commitObj,
        },
      };
    },
  };
}
