import { describe, expect, it } from "vitest";
import { clamp01, correct, guarded, incorrect, unparsable, verificationError } from "./status.ts";
import { applyTemplate, sampleSplit, splitOf, syntheticId } from "./synthetic.ts";
import { applyThinkGate } from "./think.ts";

describe("think gate", () => {
  const cases: [string, "required" | "optional" | "off", string | null][] = [
    ["<think>a</think>b", "required", "b"],
    ["<think>a</think>b", "optional", "b"],
    ["<think>a</think>b", "off", "<think>a</think>b"],
    ["b", "required", null],
    ["b", "optional", "b"],
    ["<think>a", "optional", null],
    ["<think>a", "required", null],
    ["<think>a", "off", "<think>a"],
    ["x</think>y</think>z", "required", "z"],
    ["</think>", "required", ""],
    ["", "optional", ""],
    ["", "required", null],
  ];
  it.each(cases)("%j (%s) → %j", (response, mode, text) => {
    const r = applyThinkGate(response, { mode });
    if (text === null) {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.verification).toMatchObject({ reward: 0, status: "unparsable" });
    } else expect(r).toEqual({ ok: true, text });
  });
  it("custom tags", () => {
    expect(applyThinkGate("[r]x[/r]y", { mode: "required", openTag: "[r]", closeTag: "[/r]" })).toEqual({
      ok: true,
      text: "y",
    });
  });
});

describe("status helpers", () => {
  it("build verifications with the right status and reward", () => {
    expect(correct("5", "d")).toEqual({ reward: 1, status: "correct", extracted: "5", detail: "d" });
    expect(incorrect("4")).toEqual({ reward: 0, status: "incorrect", extracted: "4" });
    expect(incorrect("4", undefined, 0.5).reward).toBe(0.5);
    expect(incorrect("4", undefined, 7).reward).toBe(1);
    expect(unparsable("none")).toEqual({ reward: 0, status: "unparsable", detail: "none" });
    expect(verificationError("bad")).toEqual({ reward: 0, status: "error", detail: "bad" });
    expect(clamp01(Number.NaN)).toBe(0);
    expect(clamp01(-1)).toBe(0);
  });
  it("guarded turns a throw into an error verification", () => {
    const v = guarded(() => {
      throw new Error("boom");
    });
    expect(v).toMatchObject({ reward: 0, status: "error" });
    expect(v.detail).toContain("boom");
  });
});

describe("synthetic split helpers", () => {
  it("assigns a key to one split whatever the seed", () => {
    expect(splitOf("d", "k1", 0.5)).toBe(splitOf("d", "k1", 0.5));
    const keys = Array.from({ length: 2000 }, (_, i) => `k${i}`);
    const evalShare = keys.filter((k) => splitOf("d", k, 0.2) === "eval").length / keys.length;
    expect(evalShare).toBeGreaterThan(0.16);
    expect(evalShare).toBeLessThan(0.24);
  });
  it("sampleSplit is deterministic, distinct, and never crosses splits", () => {
    const draw = (rng: { int(n: number): number }) => rng.int(500);
    const opts = { domain: "d", seed: 3, count: 50, evalFraction: 0.3, draw, key: (p: number) => String(p) };
    const a = sampleSplit({ ...opts, split: "train" });
    const b = sampleSplit({ ...opts, split: "train" });
    const e = sampleSplit({ ...opts, split: "eval" });
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(50);
    for (const x of e) expect(a).not.toContain(x);
    expect(sampleSplit({ ...opts, split: "train", seed: 4 })).not.toEqual(a);
  });
  it("returns fewer when the space is exhausted", () => {
    const r = sampleSplit({
      domain: "d",
      split: "train",
      seed: 1,
      count: 100,
      evalFraction: 0.5,
      draw: (rng) => rng.int(10),
      key: String,
    });
    expect(r.length).toBeLessThan(10);
  });
  it("templates and ids", () => {
    expect(applyTemplate("Q: {prompt}\nA:", "1+1=")).toBe("Q: 1+1=\nA:");
    expect(applyTemplate("Solve: ", "x")).toBe("Solve: x");
    expect(applyTemplate(undefined, "x")).toBe("x");
    expect(syntheticId("math", "train", "1+1")).toBe(syntheticId("math", "train", "1+1"));
    expect(syntheticId("math", "train", "1+1")).not.toBe(syntheticId("math", "train", "1+2"));
  });
});
