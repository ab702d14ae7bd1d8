/** `m2rl export`: loaded when the command runs (it builds domains, draws batches and writes Parquet). */
import { exportCommand } from "../export/command.ts";
import type { ExportCommandOptions } from "./export.ts";

export function exportExperiment(file: string, o: ExportCommandOptions): Promise<number> {
  return exportCommand(file, o);
}
