/** Node ids look like GitHub's (`I_kw…`): a type prefix and the encoded REST id, decodable by `parseNodeId`. */
export function nodeId(prefix: string, id: number): string {
  return `${prefix}_${Buffer.from(`sandbox:${id}`).toString("base64url")}`;
}

export function parseNodeId(value: string): { prefix: string; id: number } | undefined {
  const at = value.indexOf("_");
  if (at <= 0) return undefined;
  const decoded = Buffer.from(value.slice(at + 1), "base64url").toString();
  const m = /^sandbox:(\d+)$/.exec(decoded);
  return m?.[1] ? { prefix: value.slice(0, at), id: Number(m[1]) } : undefined;
}
