/**
 * `@m2rl/core/builtins`: core's own plugins (the built-in mixing schedulers, the trainer's `trainer` / `policy.sft`
 * sections, the tiny policy's `policy.model` section) without the package root, so that checking an experiment
 * does not load the policy, the tensor backends or the tokenizers.
 */

export { policyConfigPlugin } from "../policy/tiny-schema.ts";
export { builtinSchedulersPlugin } from "../schedulers/builtin.ts";
export { trainerConfigPlugin } from "../trainer/plugin.ts";
