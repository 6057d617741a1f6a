import { glob } from "tinyglobby";

export interface FilesCheck {
  passed: boolean;
  detail: string;
  matches: Record<string, string[]>;
}

const MAX_LISTED = 5;

/** Patterns are relative to the repository; leaving it is refused rather than resolved. */
function patternProblem(pattern: string): string | undefined {
  if (pattern.trim() === "") return "empty pattern";
  if (pattern.startsWith("/") || /^[A-Za-z]:[\\/]/.test(pattern))
    return `pattern ${pattern} must be relative to the repository`;
  if (pattern.split(/[\\/]/).includes("..")) return `pattern ${pattern} must not leave the repository`;
  return undefined;
}

/** Each glob pattern must match at least one file (dot files allowed, node_modules ignored). */
export async function checkFiles(cwd: string, patterns: readonly string[]): Promise<FilesCheck> {
  const matches: Record<string, string[]> = {};
  const problems: string[] = [];
  for (const pattern of patterns) {
    const problem = patternProblem(pattern);
    if (problem) {
      problems.push(problem);
      matches[pattern] = [];
      continue;
    }
    const found = await glob(pattern, {
      cwd,
      dot: true,
      onlyFiles: true,
      expandDirectories: false,
      ignore: ["**/node_modules/**", ".git/**"],
    });
    matches[pattern] = found.sort();
    if (found.length === 0) problems.push(`no file matches ${pattern}`);
  }
  if (patterns.length === 0) return { passed: true, detail: "no patterns to check", matches };
  if (problems.length > 0) return { passed: false, detail: problems.join("; "), matches };
  const listed = Object.entries(matches)
    .map(([p, files]) => {
      const shown = files.slice(0, MAX_LISTED).join(", ");
      return `${p} → ${shown}${files.length > MAX_LISTED ? ` (+${files.length - MAX_LISTED} more)` : ""}`;
    })
    .join("; ");
  return { passed: true, detail: listed, matches };
}
