import { describe, expect, it } from "vitest";
import { chatTemplateOf } from "./source.ts";

describe("chatTemplateOf (transformers' rule)", () => {
  it("chat_template.jinja wins over tokenizer_config.json", () => {
    expect(chatTemplateOf({ chat_template: "from-config" }, "from-file")).toBe("from-file");
  });
  it("a string entry, else none", () => {
    expect(chatTemplateOf({ chat_template: "{{ x }}" }, undefined)).toBe("{{ x }}");
    expect(chatTemplateOf({}, undefined)).toBeUndefined();
    expect(chatTemplateOf(undefined, undefined)).toBeUndefined();
    expect(chatTemplateOf({ chat_template: "  " }, undefined)).toBeUndefined();
    expect(chatTemplateOf({ chat_template: "x" }, "  \n")).toBe("x");
  });
  it("a list of named templates gives the one named default", () => {
    const list = [
      { name: "tool_use", template: "T" },
      { name: "default", template: "D" },
    ];
    expect(chatTemplateOf({ chat_template: list }, undefined)).toBe("D");
    expect(chatTemplateOf({ chat_template: [{ name: "rag", template: "R" }] }, undefined)).toBeUndefined();
  });
});
