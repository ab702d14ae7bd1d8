/**
 * Loads the plugin the way the m2rl CLI does — from the `plugins:` list of an experiment file, by a path relative to
 * that file — then validates the experiment with core and runs the verifier of the domain it configured.
 */
import { readFileSync } from "node:fs";
import {
  type ExperimentConfig,
  formatProblem,
  type Plugin,
  PluginHost,
  parseExperiment,
  pluginSpecifiers,
  validateExperiment,
} from "@m2rl/core";
import { describe, expect, it } from "vitest";

async function load(name: string) {
  const url = new URL(`./${name}`, import.meta.url);
  const parsed = parseExperiment(readFileSync(url, "utf8"), name);
  const host = new PluginHost();
  for (const { specifier } of pluginSpecifiers(parsed)) {
    const mod = (await import(new URL(specifier, url).href)) as { default?: Plugin; plugin?: Plugin };
    host.use((mod.default ?? mod.plugin)!);
  }
  return { host, result: validateExperiment(parsed, name, host) };
}

describe("countdown through the experiment YAML", () => {
  it("registers the countdown domain, validates its options and verifies answers", async () => {
    const { host, result } = await load("experiment.yaml");
    expect(result.problems).toEqual([]);
    const config = result.config as ExperimentConfig;
    expect(host.registry.domains.owner("countdown")).toBe("m2rl-plugin-domain-countdown");
    const d = config.domains.countdown;
    expect(d).toMatchObject({
      verifier: "countdown",
      plugin: "m2rl-plugin-domain-countdown",
      train: { count: 64 },
    });
    // the options as written (the schema carries no defaults: the domain applies its declared ones in create)
    expect(d.options).toEqual({ count: 3, maxNumber: 12, useAll: true });

    const domain = await host.registry.domains.get(d.verifier).create(d.options, {});
    const [task] = await domain.tasks({ split: "eval", seed: config.seed, count: d.eval.count });
    expect(task.domain).toBe("countdown");
    expect(task.prompt).toContain(`equals ${(task.groundTruth as { target: number }).target}`);
    const g = task.groundTruth as { numbers: number[]; target: number };

    const correct = await domain.verify({
      response: `<think>try things</think>${task.reference}`,
      groundTruth: g,
    });
    expect(correct.status).toBe("correct");
    expect(correct.reward).toBe(1);

    const sum = g.numbers.reduce((a, b) => a + b, 0);
    const wrong = await domain.verify({
      response: `<answer>${g.numbers.join(" + ")}</answer>`,
      groundTruth: g,
    });
    if (sum !== g.target) {
      expect(wrong.status).toBe("incorrect");
      expect(wrong.detail).toBe(`evaluates to ${sum}, target ${g.target}`);
    }
    const unparsable = await domain.verify({ response: "<answer>I give up</answer>", groundTruth: g });
    expect(unparsable).toMatchObject({ status: "unparsable", reward: 0 });
  });

  it("bad plugin options are reported at their line, naming the plugin", async () => {
    const { result } = await load("bad-options.yaml");
    expect(result.config).toBeUndefined();
    expect(result.problems.map(formatProblem)).toEqual([
      "bad-options.yaml:6:23  domains.countdown.options.count  [m2rl-plugin-domain-countdown] must be <= 6",
      `bad-options.yaml:6:43  domains.countdown.options.operators[1]  [m2rl-plugin-domain-countdown] must be one of "+", "-", "*", "/" (got string "^")`,
    ]);
  });
});
