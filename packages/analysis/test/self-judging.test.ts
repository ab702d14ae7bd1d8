import type { Domain, EvalRow, Task } from "@m2rl/core";
import { describe, expect, it } from "vitest";
import { information } from "../src/information.ts";
import { finalAnswer, judgePrompt, judgeSftTasks } from "../src/judge.ts";
import { selfJudgingCells, selfJudgingNotes, selfJudgingTable } from "../src/self-judging.ts";
import { evalRow } from "./fixtures.ts";

describe("judge prompts", () => {
  const item = { prompt: "47+8=", response: "I add.\n55", extracted: "55" };
  it("compact style: the task, then the final answer (outcome) or the whole response (process)", () => {
    expect(judgePrompt(item, "outcome", "compact")).toBe("47+8=\nanswer: 55\ncorrect?");
    expect(judgePrompt(item, "process", "compact")).toBe("47+8=\nsolution: I add.\n55\ncorrect?");
  });
  it("outcome shows the response's last line when nothing was extracted (or the extraction is empty)", () => {
    expect(finalAnswer({ ...item, extracted: undefined })).toBe("55");
    expect(finalAnswer({ ...item, extracted: "  " })).toBe("55");
    expect(judgePrompt({ ...item, extracted: "" }, "outcome")).toContain("Proposed final answer: 55\n");
  });
});

describe("judgeSftTasks", () => {
  // A verifier that accepts only "4": the references "4" are right, "5" wrong.
  const verified: string[] = [];
  const domain: Domain = {
    name: "math",
    tasks: async () => [],
    verify: async ({ response }) => {
      verified.push(response);
      return response === "4"
        ? { reward: 1, status: "correct", extracted: response }
        : { reward: 0, status: "incorrect", extracted: response };
    },
  };
  const tasks: Task[] = Array.from({ length: 10 }, (_, i) => ({
    id: `t${i}`,
    domain: "math",
    prompt: `2+2 #${i}=`,
    groundTruth: 4,
    reference: i % 3 === 0 ? "5" : "4",
  }));
  tasks.push({ id: "noref", domain: "math", prompt: "x", groundTruth: 0 });

  it("labels each reference by the verifier: ' yes' when correct, ' no' when not; modes alternate", async () => {
    const out = await judgeSftTasks(domain, tasks, { count: 6, seed: 1, style: "compact" });
    expect(out).toHaveLength(6);
    for (const [i, t] of out.entries()) {
      const source = tasks.find((s) => s.id === t.meta!.judged)!;
      expect(t.reference).toBe(source.reference === "4" ? " yes" : " no");
      expect(t.meta!.judgeMode).toBe(i % 2 === 0 ? "outcome" : "process");
      expect(t.prompt).toBe(
        judgePrompt(
          { prompt: source.prompt, response: source.reference!, extracted: source.reference },
          t.meta!.judgeMode as "outcome",
          "compact",
        ),
      );
      expect(t.id).toBe(`judge-${t.meta!.judgeMode}:${source.id}`);
    }
    expect(out.some((t) => t.reference === " no")).toBe(true);
  });
  it("skips tasks without a reference, caps at the tasks there are, and is deterministic per seed", async () => {
    const all = await judgeSftTasks(domain, tasks, { count: 100, seed: 2 });
    expect(all).toHaveLength(10);
    expect(all.some((t) => t.meta!.judged === "noref")).toBe(false);
    const again = await judgeSftTasks(domain, tasks, { count: 4, seed: 3 });
    expect((await judgeSftTasks(domain, tasks, { count: 4, seed: 3 })).map((t) => t.id)).toEqual(
      again.map((t) => t.id),
    );
    const other = await judgeSftTasks(domain, tasks, { count: 4, seed: 4 });
    expect(other.map((t) => t.id)).not.toEqual(again.map((t) => t.id));
  });
});

describe("self-judging accuracy with bootstrap CIs", () => {
  const judged = (
    task: string,
    correct: boolean,
    outcome: number,
    process: number,
    extra: Partial<EvalRow> = {},
  ) =>
    evalRow("a", "math", task, correct ? 1 : 0, {
      judge: { outcome, process },
      response: "4",
      extracted: "4",
      ...extra,
    });
  const rows: EvalRow[] = [
    judged("t1", true, 0.9, 0.8), // outcome right, process right
    judged("t1", true, 0.6, 0.3, { sampleIndex: 1 }), // outcome right, process wrong
    judged("t2", false, 0.7, 0.2), // outcome wrong, process right
    judged("t2", false, 0.1, 0.4, { sampleIndex: 1, response: "2+2 is\n5", extracted: "5" }), // both right
    evalRow("a", "math", "t3", 1), // not judged: left out
    evalRow("a", "code", "c1", 1, { judge: { outcome: 0.9, process: 0.9 }, response: "x", extracted: "x" }),
  ];
  const cells = selfJudgingCells(rows, ["a"], ["math", "code"]);
  const math = cells.find((c) => c.domain === "math")!;

  it("hand-computed: per-task shares outcome (1, 1/2), process (1/2, 1); two tasks give CI = [min, max]", () => {
    expect(math.samples).toBe(4);
    expect(math.tasks).toBe(2);
    expect(math.outcome.value).toBe(0.75);
    expect(math.process.value).toBe(0.75);
    // B = 2000 draws of 2 tasks: P(both the low task) = 1/4 > 2.5%, so the percentile bounds are the two extremes.
    expect([math.outcome.lo, math.outcome.hi]).toEqual([0.5, 1]);
    expect([math.process.lo, math.process.hi]).toEqual([0.5, 1]);
    // paired per task: t1 −1/2, t2 +1/2
    expect(math.processMinusOutcome.value).toBe(0);
    expect([math.processMinusOutcome.lo, math.processMinusOutcome.hi]).toEqual([-0.5, 0.5]);
    expect(math.correctShare).toBe(0.5);
    expect(math.sameText).toBe(0.75);
  });
  it("the table shows CIs and the majority baseline; notes name the domains where both modes show the same text", () => {
    const t = selfJudgingTable(cells);
    expect(t.rows[0]).toEqual([
      "a",
      "math",
      4,
      "75.0 [50.0, 100.0]",
      "75.0 [50.0, 100.0]",
      "+0.0 [−50.0, +50.0]",
      "50.0%",
      "75.0%",
    ]);
    const notes = selfJudgingNotes(cells);
    expect(notes.some((n) => n.startsWith("in code the response is its own final answer"))).toBe(true);
    expect(notes.some((n) => n.includes("math the response"))).toBe(false);
    // math: outcome 0.75 [0.5, 1] and process 0.75 [0.5, 1] vs majority 0.5: lower bounds not above it;
    // code: one sample, judged right, majority 1.0: not above either
    expect(notes).toContain(
      "judge accuracy above the majority baseline (CI lower bound above it): 0 of 2 arm × domain cells in outcome mode, 0 of 2 in process mode; no arm judges better than always giving the more common verdict, so this run shows no self-judging ability to compare between modes",
    );
    const sharp = selfJudgingNotes([{ ...math, outcome: { value: 0.9, lo: 0.8, hi: 1, n: 2 } }]);
    expect(sharp).toContain(
      "judge accuracy above the majority baseline (CI lower bound above it): 1 of 1 arm × domain cells in outcome mode, 0 of 1 in process mode",
    );
  });
  it("the information analysis adds the table when rows carry judge, and says why it is absent otherwise", async () => {
    const withJudge = await information.run({ arms: [], evalRows: rows, seed: 0 }, {}, new Map());
    expect(withJudge.tables!.some((t) => t.title.startsWith("Self-judging"))).toBe(true);
    const without = await information.run(
      { arms: [], evalRows: [evalRow("a", "math", "t1", 1)], seed: 0 },
      {},
      new Map(),
    );
    expect(without.tables!.some((t) => t.title.startsWith("Self-judging"))).toBe(false);
    expect(without.notes!.some((n) => n.includes("no arm judged its own responses"))).toBe(true);
  });
});
