// `node --import ./register.mjs ...`: appends one line per module resolution, `<parent URL>\t<resolved URL>`, to the
// file named by M2RL_IMPORT_TRACE (the start-up laziness test reads the import graph from it).
import { register } from "node:module";

register(new URL("./hooks.mjs", import.meta.url), { data: { file: process.env.M2RL_IMPORT_TRACE } });
