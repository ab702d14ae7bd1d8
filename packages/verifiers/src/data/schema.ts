/** JSON Schema of a domain's `data:` option (the files of its splits); light to import, for validation. */
export const DATA_FILES_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    train: { type: "string", description: "JSONL or Parquet file (verl format) of the train split" },
    eval: { type: "string", description: "JSONL or Parquet file (verl format) of the eval split" },
    format: { type: "string", enum: ["jsonl", "parquet"], description: "default: from the file extension" },
  },
} as const;
