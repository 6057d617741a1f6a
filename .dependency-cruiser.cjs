/**
 * Trellis's dependency rules (ARCHITECTURE.md, "Dependency rules"). `npm run check:deps` runs them; `npm run check`
 * includes it. Each rule names the boundary it keeps; `comment` is what a failing import is told.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      severity: "error",
      comment: "Import cycles knot modules together: give the shared piece a home below both.",
      from: {},
      to: { circular: true },
    },
    {
      name: "core-is-pure",
      severity: "error",
      comment:
        "src/core decides and does no I/O: it imports only itself and pure parsers and matchers " +
        "(zod, yaml, gray-matter, picomatch). " +
        "Load facts in the shell and pass them in.",
      from: { path: "^src/core/" },
      to: { pathNot: ["^src/core/", "node_modules/(zod|yaml|gray-matter|picomatch)/"] },
    },
    {
      name: "handlers-only-translate",
      severity: "error",
      comment:
        "A webhook handler turns a payload into a domain event: it may use only core's types and helpers.",
      from: { path: "^src/handlers/" },
      to: { pathNot: ["^src/handlers/", "^src/core/", "node_modules/@octokit/webhooks"] },
    },
    {
      name: "only-store-runs-sql",
      severity: "error",
      comment: "Only src/store talks to the database: add a function there.",
      from: { pathNot: "^src/store/" },
      to: { path: "node_modules/(pg|pg-[a-z-]+|@electric-sql/pglite)/" },
    },
    {
      name: "only-github-uses-octokit",
      severity: "error",
      comment: "Only src/github calls GitHub: add a typed function there (the shell never builds requests).",
      from: { path: "^src/", pathNot: "^src/github/" },
      to: { path: "node_modules/@octokit/(core|rest|request|graphql|plugin-[a-z-]+)/" },
    },
    {
      name: "ports-are-leaves",
      severity: "error",
      comment: "src/store and src/github are ports the shell calls: they never reach up into the shell.",
      from: { path: "^src/(store|github)/" },
      to: { path: "^src/(app|handlers|cli|index|server)" },
    },
    {
      name: "ports-do-not-know-each-other",
      severity: "error",
      comment: "The database and GitHub meet only in the shell (src/app).",
      from: { path: "^src/(store|github)/" },
      to: { path: "^src/(store|github)/", pathNot: "^src/$1/" },
    },
    {
      name: "product-never-imports-the-sandbox",
      severity: "error",
      comment:
        "The sandbox (the offline stand-in for GitHub) is a test and demo tool, never part of the product.",
      from: { path: "^(src|action/src)/" },
      to: { path: "(^sandbox/|@trellis/sandbox)" },
    },
    {
      name: "the-action-shares-only-core",
      severity: "error",
      comment:
        "The Action is bundled on its own and runs on a runner: it may share src/core and src/builtins only.",
      from: { path: "^action/src/" },
      to: { path: "^src/", pathNot: "^src/(core/|builtins)" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default"],
    },
  },
};
