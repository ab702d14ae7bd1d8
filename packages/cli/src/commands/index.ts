import type { Command } from "commander";
import * as analyze from "./analyze.ts";
import * as exportCmd from "./export.ts";
import * as merge from "./merge.ts";
import * as model from "./model.ts";
import * as run from "./run.ts";
import * as serve from "./serve.ts";
import * as validate from "./validate.ts";
import * as verify from "./verify.ts";

/**
 * A sub-command module adds itself to the program. One file per command in this folder; list it here. A module
 * declares options and arguments only and imports its implementation (`<name>-impl.ts`) inside the action, so that
 * parsing, `--help` and `--version` load no tensor, verifier or analysis code.
 */
export type RegisterCommand = (program: Command) => void;

export const COMMANDS: RegisterCommand[] = [
  validate.register,
  verify.register,
  serve.register,
  model.register,
  merge.register,
  run.register,
  analyze.register,
  exportCmd.register,
];
