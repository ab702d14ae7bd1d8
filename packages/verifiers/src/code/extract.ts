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
    return { program, fenceLanguage: last[1] || undefined, fenced: true };
  }
  if (!text.trim()) return undefined;
  return { program: text, fenced: false };
}
