// the YAML limits every config file is checked with, for merge configs: from here a merge loads them without the
// experiment loader of ../config (and the ajv it validates with)
export { yamlExpansionProblem, yamlSizeProblem } from "../config/yaml.ts";
export * from "./kernels.ts";
export * from "./types.ts";
