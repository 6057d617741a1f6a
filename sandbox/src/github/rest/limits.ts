import { SandboxError } from "../errors.js";
import { invalid } from "./routing.js";

/**
 * GitHub's text limits.
 * - An issue's or a comment's body: 65,536 characters. GitHub answers 422 Validation Failed with
 *   `{ resource: "IssueComment", code: "unprocessable", field: "data", message: "Body is too long (maximum is 65536
 *   characters)" }` (as reported from "Create an issue comment" / "Update an issue comment", e.g.
 *   reg-viz/reg-actions#123, vebr/jest-lcov-reporter#14), and for an issue `{ resource: "Issue", field: "body",
 *   code: "custom", message: "body is too long (maximum is 65536 characters)" }` (trstringer/manual-approval#89).
 * - A check run's `output.summary` and `output.text`: "**Maximum length**: 65535 characters"; `output.annotations`:
 *   "a maximum of 50 per API request" (REST docs, "Create a check run" / "Update a check run",
 *   https://docs.github.com/rest/checks/runs). No maximum is documented for `output.title`.
 * GitHub counts characters (code points), not UTF-16 units: an emoji is one.
 */
export const MAX_BODY_CHARS = 65_536;
export const MAX_CHECK_OUTPUT_CHARS = 65_535;
export const MAX_ANNOTATIONS_PER_REQUEST = 50;

/** Whether `text` has more than `max` characters; counts code points only when UTF-16 units say it might. */
export const longerThan = (text: string, max: number): boolean => text.length > max && [...text].length > max;

export const commentBodyTooLong = (): SandboxError =>
  new SandboxError(422, "Validation Failed", [
    {
      resource: "IssueComment",
      code: "unprocessable",
      field: "data",
      message: `Body is too long (maximum is ${MAX_BODY_CHARS} characters)`,
    },
  ]);
export const issueBodyTooLong = (): SandboxError =>
  invalid("Issue", "body", "custom", `body is too long (maximum is ${MAX_BODY_CHARS} characters)`);
