import { describe, expect, it } from "vitest";
import { MAX_YAML_BYTES, MAX_YAML_EXPANDED_NODES, parseYaml } from "./yaml.ts";

describe("YAML resource limits", () => {
  it("5,000 aliases to one small anchor are legitimate reuse and parse", () => {
    const text = `anchor: &a { x: 1 }\nlist:\n${"  - *a\n".repeat(5000)}`;
    const p = parseYaml(text, "reuse.yaml");
    expect(p.problems).toEqual([]);
    expect((p.data as { list: unknown[] }).list).toHaveLength(5000);
    expect((p.data as { list: { x: number }[] }).list[4999]).toEqual({ x: 1 });
  });

  it("an alias bomb is refused by its expanded size, quickly, as a placed problem (no throw)", () => {
    // 10 levels of 10 references each: 10^10 nodes once expanded
    let text = 'a0: &a0 ["lol"]\n';
    for (let i = 1; i <= 10; i++)
      text += `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(", ")}]\n`;
    const t0 = performance.now();
    const p = parseYaml(text, "bomb.yaml");
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(p.data).toBeUndefined();
    expect(p.problems).toEqual([
      expect.objectContaining({
        file: "bomb.yaml",
        line: 1,
        message: `the document expands to more than ${MAX_YAML_EXPANDED_NODES.toLocaleString("en")} nodes through its aliases (an alias bomb?)`,
      }),
    ]);
  });

  it("a file above the size limit is refused before parsing, saying the size and the limit", () => {
    const text = `name: big\npad: "${"x".repeat(MAX_YAML_BYTES)}"\n`;
    const p = parseYaml(text, "big.yaml");
    expect(p.data).toBeUndefined();
    expect(p.problems.map((q) => q.message)).toEqual([
      `the file is ${(MAX_YAML_BYTES + 18).toLocaleString("en")} bytes; the limit is 1,048,576 (a config, not a dataset)`,
    ]);
  });
});
