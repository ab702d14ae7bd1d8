/**
 * What a job folder says about itself: manifest.json (machine-readable: the arm, the engine revision, the data, the
 * M2RL → engine mapping, the dropped options with their reasons, the steps to run) and README.md (the same for a
 * person: serve, launch, convert, bring the checkpoint back).
 */
import type { DroppedOption, Engine, EngineSetting, MappedOption } from "./options.ts";

export interface JobManifest {
  format: "m2rl-export/1";
  engine: { name: Engine; revision: string; commit: string; launch: string; keyList: string };
  experiment: { name: string; file: string; seed: number };
  arm: {
    id: string;
    kind: "single" | "mix";
    domains: string[];
    seed: number;
    scheduler?: { name: string; options: Record<string, unknown> };
    startsFrom: { arm: "sft" | "base"; model?: string; note: string };
  };
  cluster: { gpusPerNode: number; nodes: number };
  data: {
    train: { file: string; rows: number; order: string };
    eval: { file: string; rows: number; order: string };
    maxPromptLength: number;
    maxPromptLengthSource: string;
    plan?: string;
  };
  reward: { serve: string; engine: string; domains: Record<string, string> };
  mapping: MappedOption[];
  dropped: DroppedOption[];
  settings: EngineSetting[];
  outputs: Record<string, string>;
  run: { serve: string; launch: string; convert: string; import: string };
  warnings: string[];
}

/** The experiment YAML that brings a trained arm back (the `checkpoint:` arms of `m2rl run`). */
export function importSnippet(armId: string, hfFolder: string): string {
  return [`arms:`, `  ${JSON.stringify(armId)}: { checkpoint: ${hfFolder} }`].join("\n");
}

const cell = (v: unknown): string =>
  (v === undefined ? "—" : typeof v === "string" ? v : JSON.stringify(v))
    .replace(/\|/g, "\\|")
    .replace(/\n/g, " ");

export function renderReadme(m: JobManifest): string {
  const engineName = m.engine.name === "verl" ? "verl" : "OpenRLHF";
  const changing = m.dropped.filter((d) => d.changesTraining);
  const lines = [
    `# ${m.arm.id} → ${engineName} ${m.engine.revision}`,
    "",
    `Written by \`m2rl export\` from experiment \`${m.experiment.name}\` (${m.experiment.file}, seed ${m.experiment.seed}): ` +
      `the RL arm \`${m.arm.id}\` (${m.arm.kind}, domains ${m.arm.domains.join(", ")}, arm seed ${m.arm.seed}) as ` +
      `${m.engine.name === "verl" ? "a" : "an"} ${engineName} job for ${m.cluster.nodes} node(s) × ${m.cluster.gpusPerNode} GPU(s). Keys checked against ` +
      `${engineName} ${m.engine.commit.slice(0, 12)} (\`${m.engine.keyList}\`).`,
    "",
    `Starts from: ${m.arm.startsFrom.note}`,
    "",
  ];
  if (m.warnings.length) lines.push("**Warnings**", "", ...m.warnings.map((w) => `- ${w}`), "");
  if (changing.length)
    lines.push(
      `**${changing.length} option(s) the engine cannot express change training** (see "Dropped" below): ` +
        changing.map((d) => `\`${d.option}\``).join(", "),
      "",
    );
  lines.push(
    "## Run it",
    "",
    "1. Start the reward service on the machine(s) the engine's reward workers run on (the experiment's verifiers " +
      "and domain options):",
    "",
    "   ```sh",
    `   ${m.run.serve}`,
    "   ```",
    "",
    "   Anything but loopback needs a token: `--host 0.0.0.0 --token <secret>` (or `M2RL_SERVE_TOKEN`), and " +
      "`export M2RL_REWARD_TOKEN=<secret>` where the engine runs (before `ray start` on every node: Ray's workers " +
      "inherit that environment). `M2RL_REWARD_URL` points the job at the service (default http://127.0.0.1:8000).",
    "",
    "2. Launch (extra engine overrides may follow; the job folder must sit at the same path on every node):",
    "",
    "   ```sh",
    `   ${m.run.launch}`,
    "   ```",
    "",
    ...(m.engine.name === "verl"
      ? [
          "3. Convert the last checkpoint to a Hugging Face folder:",
          "",
          "   ```sh",
          `   ${m.run.convert}`,
          "   ```",
        ]
      : [`3. Convert: ${m.run.convert}.`]),
    "",
    "4. Bring it back: import it with a checkpoint arm (see the top-level README, Scaling out), then `m2rl run` " +
      "merges, scores and reports it with the other arms:",
    "",
    "   ```yaml",
    ...m.run.import.split("\n").map((l) => `   ${l}`),
    "   ```",
    "",
    "## Files",
    "",
    `- \`${m.data.train.file}\`: ${m.data.train.rows} rows, ${m.data.train.order}`,
    `- \`${m.data.eval.file}\`: ${m.data.eval.rows} rows, ${m.data.eval.order}`,
    ...(m.data.plan
      ? [`- \`${m.data.plan}\` and \`m2rl_curriculum_sampler.py\`: the adaptive mixing rule`]
      : []),
    `- \`launch.sh\`, \`manifest.json\` (this, as data)`,
    ...Object.entries(m.outputs).map(([k, v]) => `- outputs: ${k} → \`${v}\``),
    "",
    `The longest prompt: ${m.data.maxPromptLength} tokens (${m.data.maxPromptLengthSource}).`,
    "",
    "## M2RL option → engine",
    "",
    "| M2RL option | value | engine | note |",
    "| --- | --- | --- | --- |",
    ...m.mapping.map(
      (x) =>
        `| \`${x.option}\` | ${cell(x.value)} | ${x.engine.length ? x.engine.map((e) => `\`${cell(e)}\``).join("<br>") : "—"} | ${cell(x.note ?? "")} |`,
    ),
    "",
    "## Dropped: what the engine cannot express",
    "",
    ...(m.dropped.length
      ? [
          "| M2RL option | value | changes training | why |",
          "| --- | --- | --- | --- |",
          ...m.dropped.map(
            (d) =>
              `| \`${d.option}\` | ${cell(d.value)} | ${d.changesTraining ? "yes" : "no"} | ${cell(d.reason)} |`,
          ),
        ]
      : ["Nothing."]),
    "",
    "## Engine settings that are no M2RL option",
    "",
    ...m.settings.map((s) => `- ${s.engine.map((e) => `\`${cell(e)}\``).join(", ")}: ${s.why}`),
    "",
  );
  return lines.join("\n");
}
