/**
 * Imported arms and generations in the experiment file: `single: { checkpoints }`, `single:<d> / mix: { checkpoint }`,
 * `generations:` on any arm, `evaluation.maxParameters`. What loads, and what is refused at file:line:col.
 */
import { describe, expect, it } from "vitest";
import type { DomainFactory } from "../domain/types.ts";
import { registryPlugin } from "../plugin/define.ts";
import { PluginHost } from "../plugin/host.ts";
import { builtinSchedulersPlugin } from "../schedulers/builtin.ts";
import { formatProblem, validateExperiment } from "./load.ts";

const toyDomain = (name: string): DomainFactory => ({
  name,
  create: () => ({ name, tasks: async () => [], verify: async () => ({ reward: 0, status: "incorrect" }) }),
});

function host(): PluginHost {
  return new PluginHost([
    registryPlugin("toy-domains", { domains: [toyDomain("math"), toyDomain("code")] }),
    builtinSchedulersPlugin,
    registryPlugin("toy-mergers", { mergeMethods: [{ name: "task_arithmetic" }] as never }),
  ]);
}

const head = "name: imp\npolicy:\n  path: ./sft\ndomains:\n  math: {}\n  code: {}\n";

function check(text: string) {
  const v = validateExperiment(text, "imp.yaml", host());
  const of = (severity: string) => v.problems.filter((p) => p.severity === severity).map(formatProblem);
  return { config: v.config, problems: of("error"), warnings: of("warning") };
}

describe("imported arms", () => {
  it("single.checkpoints expands per domain; single:<d> and mix take a checkpoint; generations on any arm", () => {
    const { config, problems } = check(
      `${head}arms:
  base:
    generations: { file: verl/val/0.jsonl, format: verl }
  single:
    checkpoints: { math: verl/math-hf, code: verl/code-hf }
    generations: { math: { file: [a.jsonl, b.jsonl], domain: math } }
  mix:
    checkpoint: verl/mix-hf
    generations: { file: verl/mix-val/200.jsonl }
  merge:task_arithmetic:
evaluation: { maxParameters: 1000000 }
`,
    );
    expect(problems).toEqual([]);
    const arm = (id: string) => config!.arms.find((a) => a.id === id)! as unknown as Record<string, unknown>;
    expect(arm("base").generations).toEqual({ files: ["verl/val/0.jsonl"], format: "verl" });
    expect(arm("single:math")).toMatchObject({
      checkpoint: "verl/math-hf",
      generations: { files: ["a.jsonl", "b.jsonl"], domain: "math" },
    });
    expect(arm("single:code").checkpoint).toBe("verl/code-hf");
    expect("generations" in arm("single:code")).toBe(false);
    expect(arm("mix")).toMatchObject({
      checkpoint: "verl/mix-hf",
      generations: { files: ["verl/mix-val/200.jsonl"] },
    });
    // nothing added to arms that import nothing: their cache hashes stay as they were
    expect(Object.keys(arm("merge:task_arithmetic")).sort()).toEqual(
      ["domains", "id", "kind", "method", "parameters", "source"].sort(),
    );
    expect(config!.evaluation.maxParameters).toBe(1000000);
  });

  it("generations alone (no checkpoint) on sft, merge and mopd arms, with any policy", () => {
    const { config, problems } = check(
      `name: gen\npolicy: { builtin: tiny, sft: { steps: 2 } }\ndomains: { math: {}, code: {} }\narms:
  sft: { generations: { file: s.jsonl } }
  merge:task_arithmetic: { generations: { file: m.jsonl, format: jsonl } }
  mopd: { generations: { file: [o.jsonl], domain: code } }
`,
    );
    expect(problems).toEqual([]);
    const gen = (id: string) => config!.arms.find((a) => a.id === id)!.generations;
    expect(gen("sft")).toEqual({ files: ["s.jsonl"] });
    expect(gen("merge:task_arithmetic")).toEqual({ files: ["m.jsonl"], format: "jsonl" });
    expect(gen("mopd")).toEqual({ files: ["o.jsonl"], domain: "code" });
    expect(gen("single:math")).toBeUndefined(); // implied by the merge: trained
  });

  it("single:<domain> imports one domain; the other single is trained", () => {
    const { config, problems } = check(`${head}arms:\n  single:math: { checkpoint: m }\n  single:code:\n`);
    expect(problems).toEqual([]);
    expect(config!.arms.map((a) => [a.id, "checkpoint" in a ? a.checkpoint : undefined])).toEqual([
      ["single:math", "m"],
      ["single:code", undefined],
    ]);
  });

  it("refuses what an import cannot mean, at the key", () => {
    expect(
      check(`name: imp
policy:
  builtin: tiny
  sft: { steps: 3 }
domains:
  math: {}
  code: {}
arms:
  sft:
  single:
    checkpoints: { math: m, cod: c }
    trainer: { steps: 3 }
  mix:
    checkpoint: x
    scheduler: uniform
    generations: { file: g.jsonl, domain: maths, format: vllm }
  merge:ta: { method: task_arithmetic, checkpoint: y }
evaluation: { maxParameters: 0 }
`).problems,
    ).toEqual([
      "imp.yaml:4:3  policy.sft  arms are imported (trained elsewhere from policy.path), and an SFT stage here would move the start point and the merge base away from that model: make policy.path the SFT model the engine started from",
      "imp.yaml:9:3  arms.sft  arms are imported (trained elsewhere from policy.path), and an SFT stage here would move the start point and the merge base away from that model: make policy.path the SFT model the engine started from",
      "imp.yaml:11:5  arms.single.checkpoints  no checkpoint for domain 'code': 'checkpoints' imports every domain's single arm (write single:<domain> arms to import some and train others)",
      "imp.yaml:11:5  arms.single.checkpoints  an imported checkpoint is merged and compared against the model it was trained from: set policy.path to that Hugging Face folder (policy.builtin is M2RL's own tiny recipe)",
      "imp.yaml:11:29  arms.single.checkpoints.cod  unknown domain 'cod' (did you mean 'code'?)",
      "imp.yaml:14:5  arms.mix.checkpoint  an imported checkpoint is merged and compared against the model it was trained from: set policy.path to that Hugging Face folder (policy.builtin is M2RL's own tiny recipe)",
      "imp.yaml:16:43  arms.mix.generations.domain  unknown domain 'maths' (did you mean 'math'?)",
      'imp.yaml:16:58  arms.mix.generations.format  must be one of "verl", "jsonl" (got string "vllm")',
      "imp.yaml:17:40  arms.merge:ta.checkpoint  unknown key 'checkpoint'; known keys: description, method, parameters, domains, generations",
      "imp.yaml:18:30  evaluation.maxParameters  must be >= 1",
    ]);
  });

  it("training keys on an imported arm are kept for m2rl export, with a warning that the import does not use them", () => {
    const { config, problems, warnings } = check(`${head}arms:
  single:
    checkpoints: { math: m, code: c }
    trainer: { steps: 3 }
  mix:
    checkpoint: x
    scheduler: uniform
    domains: [math]
  mix:b:
    scheduler: uniform
`);
    expect(problems).toEqual([]);
    expect(warnings).toEqual([
      "imp.yaml:10:5  arms.single.trainer  warning: 'trainer' is not used by an imported arm: it was trained elsewhere (m2rl export reads it to write the arm's job)",
      "imp.yaml:13:5  arms.mix.scheduler  warning: 'scheduler' is not used by an imported arm: it was trained elsewhere (m2rl export reads it to write the arm's job)",
      "imp.yaml:14:5  arms.mix.domains  warning: 'domains' is not used by an imported arm: it was trained elsewhere (m2rl export reads it to write the arm's job)",
    ]);
    expect(config!.arms.find((a) => a.id === "mix")).toMatchObject({ checkpoint: "x", scheduler: "uniform" });
  });

  it("an experiment that imports runs with one seed", () => {
    expect(
      check(`${head}seeds: [0, 1]\narms:\n  base: { generations: { file: g.jsonl } }\n`).problems,
    ).toEqual([
      "imp.yaml:7:1  seeds  imported checkpoints and generations come from one run elsewhere: with several seeds every seed would score the same ones again; give one seed",
    ]);
    expect(check(`${head}seeds: [3]\narms:\n  single:math: { checkpoint: m }\n`).problems).toEqual([]);
  });

  it("the expanded single arm takes checkpoints (a map), not checkpoint; generations keys are domain ids", () => {
    expect(
      check(`${head}arms:\n  single:\n    checkpoint: x\n    generations: { maths: { file: g.jsonl } }\n`)
        .problems,
    ).toEqual([
      "imp.yaml:9:5  arms.single.checkpoint  unknown key 'checkpoint' (did you mean 'checkpoints'?)",
      "imp.yaml:10:20  arms.single.generations.maths  unknown domain 'maths' (did you mean 'math'?)",
    ]);
  });
});
