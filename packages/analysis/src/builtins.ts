/** The built-in analyses, registered on the plugin host exactly as a third-party analysis package would be. */
import type { Analysis, Plugin } from "@m2rl/core";
import { registryPlugin } from "@m2rl/core/plugin";
import { weightGeometry } from "./geometry/analysis.ts";
import { information } from "./information.ts";
import { prediction } from "./prediction.ts";
import { scores } from "./scores.ts";
import { skillOverlap } from "./skills.ts";
import { training } from "./training.ts";

// biome-ignore lint/suspicious/noExplicitAny: each analysis has its own options type
export const BUILTIN_ANALYSES: readonly Analysis<any>[] = [
  scores,
  weightGeometry,
  skillOverlap,
  information,
  prediction,
  training,
];

/** `host.use(analysisPlugin)` registers every built-in analysis under the plugin name `m2rl-analysis`. */
export const analysisPlugin: Plugin = registryPlugin("m2rl-analysis", { analyses: [...BUILTIN_ANALYSES] });
