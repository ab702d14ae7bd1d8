// Writes schema/experiment.schema.json from src/config/schema.ts (run: npm run schema -w @m2rl/core).
// A test (src/config/schema.test.ts) fails when the published file is out of date.
import { writeFileSync } from "node:fs";
import { experimentSchema } from "../src/config/schema.ts";

const target = new URL("../schema/experiment.schema.json", import.meta.url);
writeFileSync(target, `${JSON.stringify(experimentSchema, null, 2)}\n`);
console.log(`wrote ${target.pathname}`);
