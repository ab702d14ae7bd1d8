/**
 * Start-up laziness: parsing the command line, `--help` and `--version` load commander and the command declaration
 * modules only (src/main.ts, src/commands/<name>.ts); each command's implementation (<name>-impl.ts: tensor code,
 * verifiers, analyses, native kernels) is imported by its action when it runs. Every case runs the CLI in a child
 * process whose module resolutions are recorded (./import-trace), and checks the import graph reachable from the
 * entry point.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const cliDir = fileURLToPath(new URL("..", import.meta.url));
const traceHooks = fileURLToPath(new URL("./import-trace/register.mjs", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "m2rl-lazy-start-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** What start-up may load: node built-ins, commander, bin/m2rl.js, main and the command declaration modules. */
function allowedAtStartup(url: string): boolean {
  if (url.startsWith("node:")) return true;
  if (!url.startsWith("file:")) return false;
  const path = fileURLToPath(url);
  if (path.includes(`${sep}node_modules${sep}commander${sep}`)) return true;
  const rel = relative(cliDir, path).split(sep).join("/");
  if (rel === "bin/m2rl.js") return true;
  return /^(src|dist)\/(main|index|commands\/[a-z-]+)\.(ts|js)$/.test(rel) && !/-impl\.(ts|js)$/.test(rel);
}

interface Traced {
  code: number | null;
  stderr: string;
  /** Every module reachable from the entry, with the module that imported it. */
  loaded: Map<string, string>;
}

let traces = 0;

/** Runs node with the import trace; `entry` is the URL the graph is walked from. */
function traced(nodeArgs: string[], entry: string): Traced {
  const file = join(tmp, `trace-${++traces}.tsv`);
  const r = spawnSync(process.execPath, ["--import", traceHooks, ...nodeArgs], {
    cwd: cliDir,
    env: { ...process.env, M2RL_IMPORT_TRACE: file },
    encoding: "utf8",
    timeout: 50_000,
  });
  const edges = new Map<string, Set<string>>();
  const text = existsSync(file) ? readFileSync(file, "utf8") : "";
  for (const line of text.split("\n")) {
    const [parent, child] = line.split("\t");
    if (!child) continue;
    if (!edges.has(parent)) edges.set(parent, new Set());
    edges.get(parent)!.add(child);
  }
  const loaded = new Map<string, string>([[entry, ""]]);
  const todo = [entry];
  while (todo.length) {
    const url = todo.pop()!;
    for (const child of edges.get(url) ?? [])
      if (!loaded.has(child)) {
        loaded.set(child, url);
        todo.push(child);
      }
  }
  const stderr = `${r.stderr ?? ""}${r.error ? String(r.error) : ""}`;
  // a trace that never reached the entry's imports would pass every check below
  expect(edges.get(entry)?.size ?? 0, `no import of ${entry} was traced\n${stderr}`).toBeGreaterThan(0);
  return { code: r.status, stderr, loaded };
}

const mainSource = pathToFileURL(join(cliDir, "src", "main.ts")).href;

/** `m2rl <args>` from the sources (main() in-process of the child), as the tests and `--conditions=m2rl-source` run it. */
function fromSource(...args: string[]): Traced {
  const script = `import { main } from ${JSON.stringify(mainSource)};
process.exitCode = await main(["node", "m2rl", ...process.argv.slice(1)]);`;
  return traced(
    ["--conditions=m2rl-source", "--import", "tsx", "--input-type=module", "-e", script, "--", ...args],
    mainSource,
  );
}

/** The import chain that brought `url` in, entry first. */
function chain(t: Traced, url: string): string {
  const links: string[] = [];
  for (let u: string | undefined = url; u; u = t.loaded.get(u))
    links.unshift(u.replace(/^file:\/\/.*?\/packages\//, ""));
  return links.join(" → ");
}

function expectOnlyStartupModules(t: Traced): void {
  const extra = [...t.loaded.keys()].filter((u) => !allowedAtStartup(u));
  expect(
    extra.map((u) => chain(t, u)),
    "modules loaded at start-up beyond the command declarations",
  ).toEqual([]);
}

const rel = (url: string) => url.replace(/^file:\/\/.*?\/packages\//, "");

describe("m2rl start-up loads no command implementation", () => {
  const cases = [
    ["--version"],
    ["--help"],
    ["validate", "--help"],
    ["run", "--help"],
    ["model", "logits", "--help"],
    ["verify", "--help"],
    ["serve", "--help"],
    ["merge", "--help"],
  ];
  it.each(cases.map((argv) => [argv.join(" "), argv] as const))("m2rl %s", (_text, argv) => {
    const t = fromSource(...argv);
    expect(t.code, t.stderr).toBe(0);
    expectOnlyStartupModules(t);
  });

  it("the built bin: m2rl --version", () => {
    const bin = join(cliDir, "bin", "m2rl.js");
    if (!existsSync(join(cliDir, "dist", "main.js"))) return; // not built: the source cases above still check
    const t = traced([bin, "--version"], pathToFileURL(bin).href);
    expect(t.code, t.stderr).toBe(0);
    expectOnlyStartupModules(t);
  });

  it("validate loads the experiment loader, not the run machinery or the native kernel pack", () => {
    const t = fromSource("validate", join(cliDir, "test", "fixtures", "good.yaml"));
    expect(t.code, t.stderr).toBe(0);
    const urls = [...t.loaded.keys()].map(rel);
    expect(urls).toContain("cli/src/commands/validate-impl.ts");
    expect(
      urls.filter(
        (u) =>
          u.startsWith("cli/src/run/") ||
          (/^cli\/src\/commands\/.*-impl\.ts$/.test(u) && u !== "cli/src/commands/validate-impl.ts") ||
          /^kernels-native\/(src|dist)\/register\./.test(u),
      ),
    ).toEqual([]);
  });

  it("validate loads each built-in plugin's declarations, not mathjs, vega, vega-lite, tfjs or the domains' verifiers", () => {
    const t = fromSource("validate", join(cliDir, "test", "fixtures", "good.yaml"));
    expect(t.code, t.stderr).toBe(0);
    const urls = [...t.loaded.keys()];
    const heavy = urls.filter(
      (u) =>
        /\/node_modules\/(mathjs|vega|vega-lite|@tensorflow\/[^/]+)\//.test(u) ||
        /\/verifiers\/(src|dist)\/(math|code|science|ifeval)\/(domain|verify|equiv|evaluate)\./.test(u),
    );
    expect(
      heavy.map((u) => chain(t, u)),
      "validate needs plugin names and schemas only",
    ).toEqual([]);
    // the plugins are there all the same: the domains' schemas were checked
    expect(urls.map(rel)).toContain("verifiers/src/plugins.ts");
    expect(urls.map(rel)).toContain("analysis/src/plugins.ts");
  });

  it("the trace sees tensor code when a command does load it (model logits)", () => {
    const t = fromSource("model", "logits", "--model", join(tmp, "no-such-model"), "--ids", "1");
    expect(t.code, t.stderr).toBe(1);
    const urls = [...t.loaded.keys()];
    expect(urls.some((u) => u.includes("/node_modules/@tensorflow/tfjs-core/"))).toBe(true);
    expect(urls.map(rel)).toContain("cli/src/commands/model-impl.ts");
  });
});
