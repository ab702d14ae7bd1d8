/**
 * The domain plugins this package ships, light to import: each registers its factory's name, description and
 * options schema up front, and imports the domain's implementation (verifier, generator, sandbox) only when a
 * domain is created. Validating an experiment therefore loads no verifier code (mathjs, franc, the sandbox).
 */
import type { Domain, DomainContext, DomainFactory, Plugin } from "@m2rl/core";
import type { CodeDomainOptions } from "./code/domain.ts";
import { CODE_DOMAIN_INFO } from "./code/schema.ts";
import type { CodeGroundTruth } from "./code/types.ts";
import type { IfevalDomainOptions } from "./ifeval/domain.ts";
import type { IfevalGroundTruth } from "./ifeval/evaluate.ts";
import { IFEVAL_DOMAIN_INFO } from "./ifeval/schema.ts";
import type { MathDomainOptions } from "./math/domain.ts";
import { MATH_DOMAIN_INFO } from "./math/schema.ts";
import type { ScienceDomainOptions } from "./science/domain.ts";
import { SCIENCE_DOMAIN_INFO } from "./science/schema.ts";

/** A factory that declares `info` now and delegates `create` to the factory `load` imports. */
function lazyDomain<O, G>(
  info: { name: string; description: string; optionsSchema: DomainFactory["optionsSchema"] },
  load: () => Promise<DomainFactory<O, G>>,
): DomainFactory<O, G> {
  return {
    ...info,
    async create(options: O, context: DomainContext): Promise<Domain<G>> {
      return (await load()).create(options, context);
    },
  };
}

/** A plugin that registers one (lazy) domain factory under the plugin's name, as the eager `<domain>Plugin` does. */
function lazyDomainPlugin<O, G>(pluginName: string, factory: DomainFactory<O, G>): Plugin {
  return {
    name: pluginName,
    apply(host) {
      host.registry.domains.register(pluginName, factory as DomainFactory);
    },
  };
}

export const lazyMathDomainFactory = lazyDomain<MathDomainOptions, string>(
  MATH_DOMAIN_INFO,
  async () => (await import("./math/domain.ts")).mathDomainFactory,
);
export const lazyCodeDomainFactory = lazyDomain<CodeDomainOptions, CodeGroundTruth>(
  CODE_DOMAIN_INFO,
  async () => (await import("./code/domain.ts")).codeDomainFactory,
);
export const lazyScienceDomainFactory = lazyDomain<ScienceDomainOptions, string>(
  SCIENCE_DOMAIN_INFO,
  async () => (await import("./science/domain.ts")).scienceDomainFactory,
);
export const lazyIfevalDomainFactory = lazyDomain<IfevalDomainOptions, IfevalGroundTruth>(
  IFEVAL_DOMAIN_INFO,
  async () => (await import("./ifeval/domain.ts")).ifevalDomainFactory,
);

/**
 * The domain plugins this package ships; the CLI applies them all to its plugin host. Same plugin and domain
 * names, descriptions and schemas as `mathPlugin`, `codePlugin`, `sciencePlugin`, `ifevalPlugin`; `create`
 * resolves once the domain's module is loaded.
 */
export const builtinPlugins: Plugin[] = [
  lazyDomainPlugin("m2rl-domain-math", lazyMathDomainFactory),
  lazyDomainPlugin("m2rl-domain-code", lazyCodeDomainFactory),
  lazyDomainPlugin("m2rl-domain-science", lazyScienceDomainFactory),
  lazyDomainPlugin("m2rl-domain-ifeval", lazyIfevalDomainFactory),
];
