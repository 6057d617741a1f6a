import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: ["node_modules/", "action/dist/", "dist/", ".tmp/", "coverage/", ".trellis/", "test/fixtures/"],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-console": "off",
    },
  },
  {
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: { module: "writable", require: "readonly" } },
  },
  {
    // The boundaries dependency-cruiser cannot see (ARCHITECTURE.md, "Dependency rules"): calls, not imports.
    files: ["src/**/*.ts"],
    ignores: ["src/github/**", "src/store/**"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector:
            "MemberExpression[object.name=/^(octokit|github|gh)$/][property.name=/^(request|graphql|paginate|rest)$/]",
          message: "Only src/github calls GitHub: add a typed function there.",
        },
        {
          selector:
            "CallExpression > MemberExpression[object.name=/^(db|tx|client|pool)$/][property.name=/^(query|exec|sql)$/]",
          message: "Only src/store runs SQL: add a function there.",
        },
      ],
    },
  },
);
