/** An error GitHub would answer with: its HTTP status, message and (for a 422) the `errors` list. */
export class SandboxError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: Record<string, unknown>[],
  ) {
    super(message);
  }
}
