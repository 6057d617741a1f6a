/**
 * Credentials by their shape, masked wherever text leaves Trellis: the logger's lines, the Action's result, and
 * everything the App posts to GitHub. An agent can be talked into printing what it can read; what looks like a key
 * never reaches a comment, a check run or a pull request. (A determined agent can still encode a secret; keeping
 * secrets out of its reach is the real boundary, this is the net under it.)
 */
import type { AgentResult } from "./result.js";
import { stripInvisible } from "./untrusted.js";

export const REDACTED = "[REDACTED]";

/**
 * Token shapes. GitHub: `ghp_` (classic PAT), `gho_` (OAuth), `ghu_` (user-to-server), `ghs_` (installation and
 * GITHUB_TOKEN), `ghr_` (refresh), characters `[A-Za-z0-9_]`, up to 255 long (GitHub changelog "Authentication token
 * format updates are generally available", https://github.blog/changelog/2021-03-31-authentication-token-format-updates-are-generally-available),
 * and `github_pat_` (fine-grained PAT).
 * Anthropic keys start `sk-ant-`. JWTs (`eyJ…`, e.g. ACTIONS_RUNTIME_TOKEN, OIDC tokens) are three base64url parts.
 * Every pattern is a bounded run of one character class: linear time.
 */
const TOKEN_PATTERNS: [RegExp, string][] = [
  [/gh[pousr]_[A-Za-z0-9_]{20,255}/g, REDACTED],
  [/github_pat_[A-Za-z0-9_]{20,255}/g, REDACTED],
  [/sk-ant-[A-Za-z0-9_-]{10,300}/g, REDACTED],
  [/eyJ[A-Za-z0-9_-]{5,4096}\.[A-Za-z0-9_-]{5,8192}\.[A-Za-z0-9_-]{5,4096}/g, REDACTED],
  [/\bAKIA[0-9A-Z]{16}\b/g, REDACTED],
  [/(postgres(?:ql)?:\/\/[^:/\s]{1,200}:)[^@\s]{1,500}@/g, `$1${REDACTED}@`],
  [/(\bBearer\s{1,10})[A-Za-z0-9._~+/=-]{12,8192}/gi, `$1${REDACTED}`],
];

const KEY_BEGIN = /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----/g;
const KEY_END = /-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----/g;

/** PEM private keys, `-----BEGIN … PRIVATE KEY-----` to its END line; an unterminated block to the end of the text. */
function scrubPrivateKeys(text: string): string {
  if (!text.includes("PRIVATE KEY-----")) return text;
  let out = "";
  let from = 0;
  KEY_BEGIN.lastIndex = 0;
  for (let begin = KEY_BEGIN.exec(text); begin; begin = KEY_BEGIN.exec(text)) {
    out += text.slice(from, begin.index) + REDACTED;
    KEY_END.lastIndex = begin.index + begin[0].length;
    const end = KEY_END.exec(text);
    if (!end) return out;
    from = KEY_BEGIN.lastIndex = end.index + end[0].length;
  }
  return out + text.slice(from);
}

/** Masks every credential-shaped string in `text`. */
export function scrubSecrets(text: string): string {
  let out = scrubPrivateKeys(text);
  for (const [re, replacement] of TOKEN_PATTERNS) out = out.replace(re, replacement);
  return out;
}

// Numeric references to letters, digits, `_` and `-` have no business in an agent's text except to spell a token
// the scrubber would not recognise (`gh&#112;_…` renders as `ghp_…`).
const ENCODED_TOKEN_CHAR = /&#(?:(\d{2,3})|[xX]([0-9a-fA-F]{2}));?/g;

function decodeTokenChars(text: string): string {
  return text.replace(ENCODED_TOKEN_CHAR, (whole, dec?: string, hex?: string) => {
    const ch = String.fromCharCode(dec !== undefined ? Number(dec) : Number.parseInt(hex ?? "", 16));
    return /^[A-Za-z0-9_-]$/.test(ch) ? ch : whole;
  });
}

/**
 * Agent-written text on its way to GitHub: invisible characters go first (a zero-width space inside a key still
 * renders as the key), entity-spelled letters are decoded, then every credential shape is masked. `known` are the
 * exact secrets of this job (its tokens), masked whatever their shape.
 */
export function scrubAgentText(text: string, known: readonly string[] = []): string {
  let out = scrubSecrets(decodeTokenChars(stripInvisible(text)));
  for (const secret of known) if (secret.length >= 8) out = out.split(secret).join(REDACTED);
  return out;
}

/** Every agent-written string of a result, scrubbed; numbers, statuses and paths are left as they are. */
export function scrubResult(result: AgentResult, known: readonly string[] = []): AgentResult {
  const s = (text: string): string => scrubAgentText(text, known);
  const opt = (text: string | undefined): string | undefined => (text === undefined ? undefined : s(text));
  return {
    ...result,
    summary: s(result.summary),
    ...(result.reason !== undefined ? { reason: s(result.reason) } : {}),
    ...(result.question !== undefined ? { question: s(result.question) } : {}),
    ...(result.refined !== undefined ? { refined: s(result.refined) } : {}),
    ...(result.review ? { review: { ...result.review, comments: s(result.review.comments) } } : {}),
    criteria: result.criteria.map((c) => ({ ...c, detail: s(c.detail) })),
    annotations: result.annotations.map((a) => ({
      ...a,
      message: s(a.message),
      ...(a.title !== undefined ? { title: s(a.title) } : {}),
    })),
    ...(result.tests
      ? {
          tests: {
            ...result.tests,
            failures: result.tests.failures.map((f) => ({
              ...f,
              name: s(f.name),
              ...(f.message !== undefined ? { message: opt(f.message) } : {}),
            })),
          },
        }
      : {}),
    ...(result.scenarios
      ? {
          scenarios: result.scenarios.map((sc) => ({
            ...sc,
            name: s(sc.name),
            feature: s(sc.feature),
            ...(sc.failedStep
              ? {
                  failedStep: {
                    ...sc.failedStep,
                    text: s(sc.failedStep.text),
                    ...(sc.failedStep.message !== undefined ? { message: opt(sc.failedStep.message) } : {}),
                  },
                }
              : {}),
          })),
        }
      : {}),
  };
}
