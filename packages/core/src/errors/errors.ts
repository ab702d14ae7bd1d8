/**
 * Error classes shared by every M2RL package. Each names what is at fault (file, field, tensor, plugin) so that
 * a user can fix the input without reading a stack trace.
 */
export interface M2rlErrorContext {
  /** File the problem was found in, when there is one. */
  file?: string;
  /** JSON path / field / tensor name at fault. */
  path?: string;
  /** Plugin that raised or owns the problem. */
  plugin?: string;
  /** 1-based line in `file`, when known. */
  line?: number;
}

export class M2rlError extends Error {
  readonly file?: string;
  readonly path?: string;
  readonly plugin?: string;
  readonly line?: number;

  constructor(message: string, context: M2rlErrorContext = {}, options?: { cause?: unknown }) {
    super(withContext(message, context), options);
    this.name = new.target.name;
    this.file = context.file;
    this.path = context.path;
    this.plugin = context.plugin;
    this.line = context.line;
  }
}

function withContext(message: string, c: M2rlErrorContext): string {
  const where: string[] = [];
  if (c.plugin) where.push(`[${c.plugin}]`);
  if (c.file) where.push(c.line ? `${c.file}:${c.line}` : c.file);
  if (c.path) where.push(c.path);
  return where.length ? `${where.join(" ")}: ${message}` : message;
}

/** Bad experiment / plugin / merge configuration. */
export class ConfigError extends M2rlError {}
/** Bad or inconsistent checkpoint (safetensors header, missing tensor, shape mismatch). */
export class CheckpointError extends M2rlError {}
/** A verifier could not do its job (not: the answer was wrong). */
export class VerifierError extends M2rlError {}
/** The sandbox failed to start or to clean up. */
export class SandboxError extends M2rlError {}
/** A plugin misbehaved (registration clash, throwing hook, unknown name). */
export class PluginError extends M2rlError {}
/** A data file (JSONL, Parquet, YAML) could not be read. */
export class DataError extends M2rlError {}
