import { describe, expect, it } from "vitest";
import type { DomainFactory } from "../domain/types.ts";
import { ConfigError } from "../errors/errors.ts";
import { registryPlugin } from "../plugin/define.ts";
import { PluginHost } from "../plugin/host.ts";
import { builtinSchedulersPlugin } from "../schedulers/builtin.ts";
import { DEFAULT_MIXING_SCHEDULER } from "../schedulers/weighted.ts";
import { DEFAULT_TRAINER_CONFIG, PAPER_TRAINER_PRESETS } from "../trainer/config.ts";
import {
  ExperimentConfigError,
  experimentSeeds,
  formatProblem,
  loadExperiment,
  validateExperiment,
  withSeeds,
} from "./load.ts";

const toyDomain = (name: string): DomainFactory => ({
  name,
  optionsSchema: {
    type: "object",
    additionalProperties: false,
    properties: { digits: { type: "integer", minimum: 1, maximum: 6, default: 2 } },
  },
  create: () => ({ name, tasks: async () => [], verify: async () => ({ reward: 0, status: "incorrect" }) }),
});

/** Registered entries whose behaviour these validation tests never reach. */
const notUsed = (): never => {
  throw new Error("not used by validation");
};

function host(): PluginHost {
  return new PluginHost([
    registryPlugin("toy-domains", { domains: [toyDomain("math"), toyDomain("code")] }),
    registryPlugin("toy-schedulers", {
      mixingSchedulers: [
        { name: "proportional", create: notUsed },
        { name: "uniform", create: notUsed },
        {
          name: "temperature",
          create: notUsed,
          optionsSchema: {
            type: "object",
            additionalProperties: false,
            required: ["temperature"],
            properties: { temperature: { type: "number", exclusiveMinimum: 0 } },
          },
        },
      ],
    }),
    registryPlugin("toy-mergers", {
      mergeMethods: [
        {
          name: "ties",
          optionsSchema: {
            type: "object",
            additionalProperties: false,
            properties: { density: { type: "number", minimum: 0, maximum: 1, default: 0.5 } },
          },
        },
        { name: "linear" },
      ],
    }),
    registryPlugin("toy-analyses", {
      analyses: [
        { name: "cosine", run: notUsed },
        {
          name: "projection",
          run: notUsed,
          optionsSchema: {
            type: "object",
            additionalProperties: false,
            properties: { dims: { type: "integer", minimum: 1, default: 64 } },
          },
        },
      ],
    }),
    registryPlugin("toy-trainer", {
      configSections: [
        {
          name: "trainer",
          optionsSchema: {
            type: "object",
            additionalProperties: false,
            properties: {
              steps: { type: "integer", minimum: 1, default: 100 },
              groupSize: { type: "integer", minimum: 2, default: 8 },
            },
          },
        },
      ],
    }),
  ]);
}

const GOOD = `name: demo
seed: 7
policy:
  builtin: tiny
domains:
  math:
    options: { digits: 3 }
    train: { count: 100 }
    eval: { count: 20 }
  code:
    verifier: code
arms:
  base:
  single:math:
  mix:
    scheduler: temperature
    options: { temperature: 2 }
  merge:ties:
    parameters: { density: 0.3 }
  mopd:
trainer:
  steps: 5
evaluation:
  samples: 4
  passAtK: [1, 4]
  temperature: 0.7
analysis:
  - cosine
  - name: projection
`;

/** Problems as `line:col path message` for compact assertions. */
function shown(text: string): string[] {
  return validateExperiment(text, "exp.yaml", host()).problems.map(
    (p) =>
      `${p.line}:${p.column} ${p.pathText} ${p.plugin ? `[${p.plugin}] ` : ""}${p.severity === "warning" ? "warning: " : ""}${p.message}`,
  );
}

describe("loadExperiment", () => {
  it("returns the typed experiment with defaults filled in and arms expanded", () => {
    const c = loadExperiment(GOOD, "exp.yaml", host());
    expect(c.name).toBe("demo");
    expect(c.seed).toBe(7);
    expect(c.output).toBe("runs/demo");
    expect(c.plugins).toEqual([]);
    expect(c.policy).toEqual({ source: "builtin", builtin: "tiny", model: {} });
    expect(c.domains.math).toEqual({
      id: "math",
      verifier: "math",
      plugin: "toy-domains",
      options: { digits: 3 },
      train: { count: 100 },
      eval: { count: 20 },
    });
    expect(c.domains.code.options).toEqual({ digits: 2 }); // plugin schema default
    expect(c.trainer).toEqual({ steps: 5, groupSize: 8 });
    expect(c.evaluation).toEqual({ samples: 4, passAtK: [1, 4], temperature: 0.7, topP: 1 });
    expect(c.analysis).toEqual([
      { name: "cosine", plugin: "toy-analyses", options: {} },
      { name: "projection", plugin: "toy-analyses", options: { dims: 64 } },
    ]);
    expect(c.arms.map((a) => `${a.id}:${a.kind}${a.implied ? "(implied)" : ""}`)).toEqual([
      "base:base",
      "single:math:single",
      "mix:mix",
      "single:code:single(implied)",
      "merge:ties:merge",
      "mopd:mopd",
    ]);
    const merge = c.arms.find((a) => a.kind === "merge");
    expect(merge).toMatchObject({ method: "ties", parameters: { density: 0.3 }, domains: ["math", "code"] });
    const mix = c.arms.find((a) => a.kind === "mix");
    expect(mix).toMatchObject({
      scheduler: "temperature",
      options: { temperature: 2 },
      domains: ["math", "code"],
    });
  });

  it("a mix arm that names no scheduler gets the trainer's (and the paper's) default, proportional", () => {
    // The real built-in schedulers, so that a default the registry does not know would fail here too.
    const h = new PluginHost([
      registryPlugin("toy-domains", { domains: [toyDomain("math"), toyDomain("code")] }),
      builtinSchedulersPlugin,
    ]);
    const text = `name: x
policy: { builtin: tiny }
domains: { math: {}, code: {} }
arms:
  mix:
  mix:b: {}
  mix:c: { domains: [math] }
  mix:d: { scheduler: uniform }
`;
    const c = loadExperiment(text, "exp.yaml", h);
    const schedulers = c.arms.flatMap((a) => (a.kind === "mix" ? [[a.id, a.scheduler]] : []));
    const trainerDefault = DEFAULT_TRAINER_CONFIG.scheduler.name;
    expect(trainerDefault).toBe("proportional"); // the paper: a shuffled concatenation in natural sizes
    expect(PAPER_TRAINER_PRESETS.mix.scheduler?.name).toBe(trainerDefault);
    expect(DEFAULT_MIXING_SCHEDULER).toBe(trainerDefault);
    expect(schedulers).toEqual([
      ["mix", trainerDefault], // null value: the loader's default
      ["mix:b", trainerDefault], // {}: the schema's default (filled in by ajv)
      ["mix:c", trainerDefault],
      ["mix:d", "uniform"],
    ]);
  });

  it("expands `single` into one arm per domain and reads merge:<label> with an explicit method", () => {
    const text = `name: x
policy: { path: ./model }
domains: { math: {}, code: {} }
arms:
  single:
  merge:ties-dense: { method: ties, parameters: { density: 0.9 } }
  merge:linear:
`;
    const c = loadExperiment(text, "exp.yaml", host());
    expect(c.policy).toEqual({ source: "path", path: "./model" });
    expect(c.arms.map((a) => a.id)).toEqual([
      "single:math",
      "single:code",
      "merge:ties-dense",
      "merge:linear",
    ]);
    expect(c.arms[2]).toMatchObject({ kind: "merge", method: "ties", parameters: { density: 0.9 } });
    expect(c.arms[3]).toMatchObject({ kind: "merge", method: "linear", parameters: {} });
  });

  it("throws a ConfigError listing every problem with file:line:col and path", () => {
    const text = `name: demo
seed: "seven"
policy: { builtin: tiny }
domains:
  math: {}
arms:
  base:
colour: blue
`;
    let err: unknown;
    try {
      loadExperiment(text, "exp.yaml", host());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toBeInstanceOf(ExperimentConfigError);
    const e = err as ExperimentConfigError;
    expect(e.problems.map(formatProblem)).toEqual([
      `exp.yaml:2:7  seed  must be integer (got string "seven")`,
      "exp.yaml:8:1  colour  unknown key 'colour'; known keys: $schema, name, description, seed, seeds, output, plugins, policy, domains, arms, trainer, evaluation, analysis",
    ]);
    expect(e.message).toContain("exp.yaml: 2 problems:");
    expect(e.file).toBe("exp.yaml");
  });
});

describe("validateExperiment problems", () => {
  it("unknown keys get a did-you-mean from the schema's property names, at the key", () => {
    const text = GOOD.replace("seed: 7", "sede: 7").replace("  samples: 4", "  sampels: 4");
    expect(shown(text)).toEqual([
      "2:1 sede unknown key 'sede' (did you mean 'seed'?)",
      "24:3 evaluation.sampels unknown key 'sampels' (did you mean 'samples'?)",
      // the typo leaves `samples` at its default, 1
      "25:16 evaluation.passAtK[1] pass@4 needs at least 4 samples per prompt; evaluation.samples is 1",
    ]);
  });

  it("selfJudge: SFT judge examples need an SFT stage; unknown keys refused; tasks required", () => {
    const judge = (block: string) =>
      GOOD.replace("  temperature: 0.7\n", `  temperature: 0.7\n  selfJudge: ${block}\n`);
    expect(shown(judge("{ tasks: 8, sftExamples: 50 }"))).toEqual([
      "27:39 evaluation.selfJudge.sftExamples judge examples are added to the SFT data, and this experiment has no SFT stage (no policy.sft, no sft arm)",
    ]);
    expect(shown(judge("{ tasks: 8, sftExamples: 50 }").replace("  base:\n", "  base:\n  sft:\n"))).toEqual(
      [],
    );
    expect(shown(judge("{ tasks: 8 }"))).toEqual([]);
    expect(shown(judge("{ task: 8 }"))).toEqual([
      "27:14 evaluation.selfJudge missing required key 'tasks'",
      "27:16 evaluation.selfJudge.task unknown key 'task' (did you mean 'tasks'?)",
    ]);
    const loaded = loadExperiment(judge("{ tasks: 8 }"), "exp.yaml", host());
    expect(loaded.evaluation.selfJudge).toEqual({ tasks: 8, sftExamples: 0 });
  });

  it("keys the run sets per arm are refused where a block would set them (they would be ignored)", () => {
    const text = GOOD.replace(
      "trainer:\n  steps: 5\n",
      "trainer:\n  steps: 5\n  seed: 3\n  scheduler: { name: uniform }\n  algorithm: grpo\n",
    )
      .replace("  mopd:\n", "  mopd:\n    trainer: { algorithm: grpo }\n")
      .replace("  single:math:\n", "  single:math:\n    trainer: { algorithm: grpo, seed: 1 }\n")
      .replace("  builtin: tiny\n", "  builtin: tiny\n  sft: { seed: 2, steps: 3 }\n");
    // (the test host's toy trainer schema knows none of these keys: only the run's own problems are shown here)
    const own = shown(text).filter((l) => !l.includes("[toy-trainer]") && !l.includes("warning:"));
    const seed =
      "each arm's seed derives from the experiment's `seed` (or `seeds`) and the arm id; set those instead";
    expect(own).toEqual([
      `5:10 policy.sft.seed ${seed}`,
      `16:33 arms.single:math.trainer.seed ${seed}`,
      "23:27 arms.mopd.trainer.algorithm a mopd arm runs 'mopd'; remove 'algorithm'",
      `26:3 trainer.seed ${seed}`,
      "27:3 trainer.scheduler the mixing scheduler is a mix arm's `scheduler:` (and its `options:`), not a trainer option",
      "28:14 trainer.algorithm the algorithm follows each arm's kind (single and mix arms: grpo; mopd arms: mopd); remove it here",
    ]);
    // the arm kind's own algorithm is fine where an arm gives it
    expect(
      shown(GOOD.replace("  mopd:\n", "  mopd:\n    trainer: { algorithm: mopd }\n")).filter(
        (l) => !l.includes("[toy-trainer]"),
      ),
    ).toEqual([]);
  });

  it("missing required keys point at the enclosing mapping", () => {
    const text = "seed: 1\npolicy:\n  builtin: tiny\ndomains:\n  math: {}\n";
    expect(shown(text)).toEqual([
      "1:1 (root) missing required key 'name'",
      "1:1 (root) missing required key 'arms'",
    ]);
  });

  it("names the plugin whose option schema failed, with the full path", () => {
    const text = GOOD.replace("options: { digits: 3 }", "options: { digits: 9, base: 10 }")
      .replace("options: { temperature: 2 }", "options: { temp: 2 }")
      .replace("density: 0.3", "density: 3")
      .replace("  steps: 5", "  steps: 0");
    expect(shown(text)).toEqual([
      "7:24 domains.math.options.digits [toy-domains] must be <= 6",
      "7:27 domains.math.options.base [toy-domains] unknown key 'base'; known keys: digits",
      "17:14 arms.mix.options [toy-schedulers] missing required key 'temperature'",
      "17:16 arms.mix.options.temp [toy-schedulers] unknown key 'temp'; known keys: temperature",
      "19:28 arms.merge:ties.parameters.density [toy-mergers] must be <= 1",
      "22:10 trainer.steps [toy-trainer] must be >= 1",
    ]);
  });

  it("unknown registered names (domain, scheduler, merge method, analysis) suggest the closest", () => {
    const text = GOOD.replace("    verifier: code", "    verifier: cdoe")
      .replace("scheduler: temperature", "scheduler: temprature")
      .replace("merge:ties:", "merge:tis:")
      .replace("  - cosine", "  - cosin");
    expect(shown(text)).toEqual([
      "11:15 domains.code.verifier unknown domain 'cdoe' (did you mean 'code'?); registered: math, code",
      "16:16 arms.mix.scheduler unknown mixing scheduler 'temprature' (did you mean 'temperature'?); registered: proportional, uniform, temperature",
      "18:3 arms.merge:tis unknown merge method 'tis' (did you mean 'ties'?); registered: ties, linear",
      "28:5 analysis[0] unknown analysis 'cosin' (did you mean 'cosine'?); registered: cosine, projection",
    ]);
  });

  it("a domain without `verifier` must be a registered name itself", () => {
    const text = GOOD.replace("  code:\n    verifier: code", "  sql:\n    options: {}");
    expect(shown(text)).toEqual([
      "10:3 domains.sql unknown domain 'sql'; registered: math, code (set 'verifier' to a registered domain, or load its plugin)",
    ]);
  });

  it("arms: bad ids, unknown domains, pass@k beyond samples, policy source", () => {
    const text = `name: demo
policy: { builtin: tiny, path: ./m }
domains: { math: {} }
arms:
  single:mth:
  mixx:
  mix: { domains: [math, cod] }
evaluation: { samples: 2, passAtK: [1, 4] }
`;
    expect(shown(text)).toEqual([
      "2:26 policy.path give either 'builtin' or 'path', not both",
      "5:3 arms.single:mth unknown domain 'mth' (did you mean 'math'?)",
      "6:3 arms.mixx unknown key 'mixx' (did you mean 'mix'?); arm ids are base, sft, single, single:<domain>, mix[:<label>], merge:<method>, mopd[:<label>]",
      "7:26 arms.mix.domains[1] unknown domain 'cod'",
      "8:13 evaluation.temperature warning: temperature 0 (greedy) makes all 2 samples identical; pass@k needs temperature > 0",
      "8:40 evaluation.passAtK[1] pass@4 needs at least 4 samples per prompt; evaluation.samples is 2",
    ]);
  });

  it("warnings alone do not fail: an open section with no registered schema", () => {
    const text =
      "name: a\npolicy:\n  builtin: tiny\n  sft: { steps: 3 }\ndomains: { math: {} }\narms: { base: }\n";
    const v = validateExperiment(text, "exp.yaml", host());
    expect(v.config).toBeDefined();
    expect(v.problems.map(formatProblem)).toEqual([
      "exp.yaml:4:3  policy.sft  warning: no loaded plugin registered a schema for 'policy.sft': its keys are not checked",
    ]);
  });

  it("YAML syntax errors and duplicate keys are reported with their position", () => {
    expect(shown("name: a\nname: b\n")).toEqual(["2:1 (yaml) Map keys must be unique"]);
    expect(shown("name: [a\n")[0]).toMatch(/^2:1 \(yaml\) /);
    expect(shown("")).toEqual(["1:1 (root) an experiment file must be a YAML mapping (key: value)"]);
  });

  it("plugins can add cross-field problems and rewrite the config through the host's hooks", () => {
    const h = host();
    h.use({
      name: "policy-guard",
      apply(hh) {
        hh.hooks.validateConfig.tap("policy-guard", (config, problems) => {
          if (config.seed === 13)
            problems.push({ path: ["seed"], message: "unlucky seed", plugin: "policy-guard" });
        });
        hh.hooks.config.tap("policy-guard", (config) => ({ ...config, output: `out/${config.name}` }));
      },
    });
    expect(loadExperiment(GOOD, "exp.yaml", h).output).toBe("out/demo");
    const v = validateExperiment(GOOD.replace("seed: 7", "seed: 13"), "exp.yaml", h);
    expect(v.config).toBeUndefined();
    expect(v.problems.map(formatProblem)).toEqual(["exp.yaml:2:7  seed  [policy-guard] unlucky seed"]);
  });
});

describe("seeds", () => {
  it("seeds: [a, b, c] loads seed = a and the list; experimentSeeds returns it", () => {
    const c = loadExperiment(GOOD.replace("seed: 7", "seeds: [3, 1, 2]"), "exp.yaml", host());
    expect(c.seed).toBe(3);
    expect(c.seeds).toEqual([3, 1, 2]);
    expect(experimentSeeds(c)).toEqual([3, 1, 2]);
  });

  it("one seed loads exactly as `seed: s` (no `seeds` key); no seed at all is seed 0", () => {
    const one = loadExperiment(GOOD.replace("seed: 7", "seeds: [7]"), "exp.yaml", host());
    expect(one).toEqual(loadExperiment(GOOD, "exp.yaml", host()));
    expect("seeds" in one).toBe(false);
    expect(experimentSeeds(one)).toEqual([7]);
    expect(experimentSeeds(loadExperiment(GOOD.replace("seed: 7\n", ""), "exp.yaml", host()))).toEqual([0]);
  });

  it("refuses `seed` and `seeds` together, at the seeds key", () => {
    const text = GOOD.replace("seed: 7", "seed: 7\nseeds: [0, 1]");
    expect(shown(text)).toEqual([
      "3:1 seeds give either 'seed' or 'seeds', not both ('seeds: [s]' is 'seed: s')",
    ]);
    expect(validateExperiment(text, "exp.yaml", host()).config).toBeUndefined();
  });

  it("refuses an empty list, duplicates, negative and non-integer seeds", () => {
    const bad = (seeds: string) => shown(GOOD.replace("seed: 7", `seeds: ${seeds}`));
    expect(bad("[]")).toEqual(["2:8 seeds must NOT have fewer than 1 items"]);
    expect(bad("[1, 2, 1]")).toEqual([
      "2:8 seeds must NOT have duplicate items (items ## 2 and 0 are identical)",
    ]);
    expect(bad("[0, -1]")).toEqual(["2:12 seeds[1] must be >= 0"]);
    expect(bad("[0, 1.5]")).toEqual(["2:12 seeds[1] must be integer (got number 1.5)"]);
    expect(bad("3")).toEqual(["2:8 seeds must be array (got number 3)"]);
  });

  it("withSeeds sets seed to the first and keeps the list only when there are several", () => {
    const c = loadExperiment(GOOD, "exp.yaml", host());
    expect(withSeeds(c, [4, 5])).toMatchObject({ seed: 4, seeds: [4, 5] });
    const one = withSeeds(withSeeds(c, [4, 5]), [7]);
    expect(one).toEqual(c);
    expect(() => withSeeds(c, [])).toThrow(ConfigError);
  });
});
