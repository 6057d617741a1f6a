/** An output sink for a command (the CLI's Io), and what it printed. */
export function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) },
    out: () => out.join(""),
    err: () => err.join(""),
  };
}
