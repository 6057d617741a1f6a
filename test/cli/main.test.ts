import { describe, expect, it } from "vitest";
import { lazyCommand, main, SUBCOMMANDS, type Io } from "../../src/cli/main.js";
import { configJsonSchema } from "../../src/core/config.js";

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: Io = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

describe("trellis (in-process)", () => {
  it("prints usage on stderr and exits 2 without a command", async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^Usage: trellis <command>/);
    for (const name of Object.keys(SUBCOMMANDS)) expect(r.stderr).toContain(`  ${name}`);
  });

  it("rejects an unknown command with usage on stderr and exit 2", async () => {
    const r = await run(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^trellis: unknown command "frobnicate"\n\nUsage:/);
    expect((await run(["toString"])).code).toBe(2); // not fooled by Object.prototype
  });

  it("prints help on stdout with --help, -h and help", async () => {
    for (const argv of [["--help"], ["-h"], ["help"]]) {
      const r = await run(argv);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: trellis <command>/);
      expect(r.stderr).toBe("");
    }
  });

  it("shows a command's help with `help <command>` and `<command> --help`", async () => {
    for (const argv of [
      ["help", "validate"],
      ["validate", "--help"],
    ]) {
      const r = await run(argv);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: trellis validate \[dir\]/);
    }
    expect((await run(["schema", "-h"])).stdout).toMatch(/^Usage: trellis schema/);
  });

  it("prints the package version", async () => {
    const r = await run(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it("dispatches plan to H3's module, passing the output sink", async () => {
    const r = await run(["plan", "--help"]);
    expect(r.stderr).not.toMatch(/unknown command|not available/);
    expect(`${r.stdout}${r.stderr}`).toMatch(/trellis plan/);
  });

  it("reports a lazily loaded command that is missing instead of crashing", async () => {
    let stderr = "";
    const io: Io = { stdout: () => undefined, stderr: (t) => void (stderr += t) };
    expect(await lazyCommand("./does-not-exist.js", "x")([], io)).toBe(1);
    expect(stderr).toMatch(/^trellis: this command is not available/);
    stderr = "";
    expect(await lazyCommand("./schema.js", "nope")([], io)).toBe(1);
    expect(stderr).toContain("has no nope");
  });
});

describe("trellis schema", () => {
  it("prints the config JSON Schema", async () => {
    const r = await run(["schema"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(configJsonSchema());
  });

  it("rejects unknown options with exit 2", async () => {
    const r = await run(["schema", "--bogus"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/trellis schema: .*bogus/);
  });
});
