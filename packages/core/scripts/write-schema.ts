// Writes schema/experiment.schema.json from src/config/schema.ts and the README's table of experiment keys (run:
// npm run schema -w @m2rl/core).
// A test (src/config/schema.test.ts) fails when the published file is out of date.
import { readFileSync, writeFileSync } from "node:fs";
import { embedKeysTable, experimentKeysTable } from "../src/config/keys-table.ts";
import { experimentSchema } from "../src/config/schema.ts";

const target = new URL("../schema/experiment.schema.json", import.meta.url);
writeFileSync(target, `${JSON.stringify(experimentSchema, null, 2)}\n`);
console.log(`wrote ${target.pathname}`);

// The README's table of every experiment key (between the experiment-keys markers).
const readme = new URL("../README.md", import.meta.url);
writeFileSync(readme, embedKeysTable(readFileSync(readme, "utf8"), experimentKeysTable()));
console.log(`wrote the experiment key table into ${readme.pathname}`);
