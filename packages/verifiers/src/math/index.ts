export * from "./domain.ts";
export * from "./equiv.ts";
export * from "./extract.ts";
export * from "./generator.ts";
export { LatexError, latexToMathjs } from "./latex.ts";
export * from "./normalize.ts";
export * from "./parse.ts";
export * from "./rational.ts";
export * from "./verify.ts";
