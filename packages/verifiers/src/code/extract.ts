const FENCE = /```[ \t]*([A-Za-z0-9_+#.-]*)[^\n]*\n([\s\S]*?)```/g;

export interface ExtractedProgram {
  program: string;
  /** Language tag of the fence, when there was one. */
  fenceLanguage?: string;
  /** Whether the program came from a fenced block (false: the whole text). */
  fenced: boolean;
}

/**
 * The program of a (think-gated) response: the last fenced code block, or the whole text when it has none.
 * Undefined when that is empty. An unterminated last fence does not count as a block.
 */
export function extractProgram(text: string): ExtractedProgram | undefined {
  let last: RegExpExecArray | undefined;
  for (const m of text.matchAll(FENCE)) last = m;
  if (last) {
    const program = last[2] ?? "";
    if (!program.trim()) return undefined;
    return { program: dedent(program), fenceLanguage: last[1] || undefined, fenced: true };
  }
  if (!text.trim()) return undefined;
  return { program: dedent(text), fenced: false };
}

/**
 * Drops leading blank lines and the indentation common to all non-blank lines (a response that follows a prompt
 * often starts with a space, which Python would reject as an IndentationError).
 */
export function dedent(program: string): string {
  const lines = program.replace(/\r\n?/g, "\n").split("\n");
  while (lines.length > 1 && !lines[0]?.trim()) lines.shift();
  let common: string | undefined;
  for (const l of lines) {
    if (!l.trim()) continue;
    const indent = /^[ \t]*/.exec(l)?.[0] ?? "";
    if (common === undefined || !indent.startsWith(common)) {
      let k = 0;
      const base: string = common ?? indent;
      while (k < base.length && k < indent.length && base[k] === indent[k]) k++;
      common = base.slice(0, k);
    }
    if (common === "") break;
  }
  return common
    ? lines
        .map((l) => (l.startsWith(common as string) ? l.slice((common as string).length) : l.trimStart()))
        .join("\n")
    : lines.join("\n");
}
