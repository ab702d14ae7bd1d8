/** A JSON Schema object (draft 2020-12 / draft-07 as understood by ajv). */
export type JSONSchema = Record<string, unknown>;
