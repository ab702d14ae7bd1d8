/**
 * launch.sh: written from a list of engine arguments, one per line, and read back (the key check of the tests and of
 * the export itself reads the script as the shell would split it, not the list it was written from).
 *
 * A value that names one of the script's variables (`${JOB_DIR}`, `${MODEL_PATH}`) is double-quoted; anything else
 * the shell would touch is single-quoted; plain words stay bare.
 */

/** The script's variables, set at its top (a default, or a required value with a message). */
export interface LaunchVariable {
  name: string;
  /** Default when the environment does not set it (may use earlier variables). */
  default?: string;
  /** Message when the environment must set it. */
  required?: string;
  comment?: string;
}

export interface LaunchScript {
  /** Comment lines at the top (without `#`). */
  header: string[];
  variables: LaunchVariable[];
  /** Lines run before the command (exports, checks). */
  prelude?: string[];
  /** The engine's entry point, e.g. `python3 -m verl.trainer.main_ppo`. */
  command: string;
  /** One entry per line: the words of one argument (`key=value`, or a flag and its values). */
  lines: string[][];
}

const BARE = /^[A-Za-z0-9_.,:/@%+=-]+$/;

/** One shell word for `text`. */
export function shellWord(text: string): string {
  if (text !== "" && BARE.test(text)) return text;
  if (/\$\{[A-Z_][A-Z0-9_]*\}/.test(text) && !/[`]/.test(text))
    return `"${text.replace(/(["\\])/g, "\\$1")}"`;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export function renderLaunch(s: LaunchScript): string {
  const out = ["#!/usr/bin/env bash", ...s.header.map((h) => (h ? `# ${h}` : "#")), "set -euo pipefail", ""];
  out.push(`JOB_DIR="$(cd "$(dirname "${shellVar("BASH_SOURCE[0]")}")" && pwd)"`);
  for (const v of s.variables) {
    if (v.comment) out.push(`# ${v.comment}`);
    if (v.required !== undefined) out.push(`: "\${${v.name}:?${v.required.replace(/["`$\\]/g, "")}}"`);
    else out.push(`${v.name}="\${${v.name}:-${v.default ?? ""}}"`);
  }
  if (s.prelude?.length) out.push("", ...s.prelude);
  out.push("", `${s.command} \\`);
  for (const words of s.lines) out.push(`  ${words.map(shellWord).join(" ")} \\`);
  out.push('  "$@"', "");
  return out.join("\n");
}

/**
 * The words of the engine command in a launch script, as bash splits them (quotes removed, `${VAR}` kept as
 * written): the words after `command` up to the end of its (backslash-continued) line, without `"$@"`.
 */
export function commandWords(script: string, command: string): string[] {
  const start = script.indexOf(`\n${command} `);
  if (start < 0) throw new Error(`the script does not run ${command}`);
  let text = "";
  for (const line of script.slice(start + command.length + 2).split("\n")) {
    if (line.endsWith("\\")) text += `${line.slice(0, -1)} `;
    else {
      text += line;
      break;
    }
  }
  return splitWords(text).filter((w) => w !== "$@");
}

/** Shell word splitting for the quoting launch.sh uses ('…', "…" with \" \\ escapes, bare words). */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === " " || c === "\t" || c === "\n") {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${text.slice(i, i + 40)}`);
      word = (word ?? "") + text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      word ??= "";
      for (i++; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === "\\" && i + 1 < text.length && '"\\$`'.includes(text[i + 1])) i++;
        word += text[i];
      }
      if (i >= text.length) throw new Error('unterminated " in a launch script');
    } else if (c === "\\" && i + 1 < text.length) {
      word = (word ?? "") + text[++i];
    } else word = (word ?? "") + c;
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** `${NAME}`: a reference to one of the script's variables, for a value the shell fills in. */
export function shellVar(name: string): string {
  return "$" + "{" + name + "}";
}

/** The job folder, as the script knows it (absolute at run time). */
export const JOB_DIR = shellVar("JOB_DIR");
