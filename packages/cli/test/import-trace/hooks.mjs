// Module resolution hooks of register.mjs: record every edge of the import graph, change nothing.
import { appendFileSync } from "node:fs";

let file;

export function initialize(data) {
  file = data?.file;
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (file) appendFileSync(file, `${context.parentURL ?? ""}\t${resolved.url}\n`);
  return resolved;
}
