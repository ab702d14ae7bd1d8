/**
 * In-sandbox harnesses of the function-call style. The harness reads `{nonce, fn_name, tests}` from stdin (all of it,
 * before the program runs, so the program cannot read it), loads the program from /code, calls the function on
 * each test and prints one line `<nonce><json>` per test, flushed, so a later timeout still tells which tests
 * finished. Output lines without the nonce (the program's own prints) are ignored.
 */
export const PYTHON_HARNESS = String.raw`
import sys, json
_cfg = json.loads(sys.stdin.read())
sys.stdin = open("/dev/null")
_out = sys.stdout
def _emit(obj):
    _out.write("\n" + _cfg["nonce"] + json.dumps(obj, default=_plain) + "\n")
    _out.flush()
def _plain(o):
    if isinstance(o, (set, frozenset)):
        return sorted(o, key=repr)
    if hasattr(o, "tolist"):
        return o.tolist()
    return repr(o)
_ns = {"__name__": "__solution__"}
try:
    with open("/code/solution.py") as _f:
        exec(compile(_f.read(), "/code/solution.py", "exec"), _ns)
    _fn = _ns.get(_cfg["fn_name"])
    if _fn is None and isinstance(_ns.get("Solution"), type):
        _fn = getattr(_ns["Solution"](), _cfg["fn_name"], None)
    if not callable(_fn):
        raise NameError("function %s is not defined" % _cfg["fn_name"])
except BaseException as _e:
    _emit({"load": "%s: %s" % (type(_e).__name__, str(_e)[:300])})
    raise SystemExit(0)
for _t in _cfg["tests"]:
    try:
        _r = _fn(*_t)
        json.dumps(_r, default=_plain)
        _emit({"ok": True, "value": _r})
    except BaseException as _e:
        _emit({"ok": False, "error": "%s: %s" % (type(_e).__name__, str(_e)[:300])})
`;

export const JS_HARNESS = String.raw`
"use strict";
const fs = require("fs");
const cfg = JSON.parse(fs.readFileSync(0, "utf8"));
const emit = (obj) => fs.writeSync(1, "\n" + cfg.nonce + JSON.stringify(obj, (k, v) =>
  v instanceof Set ? [...v] : v instanceof Map ? Object.fromEntries(v) : typeof v === "bigint" ? Number(v) : v) + "\n");
(async () => {
  let fn;
  try {
    const src = fs.readFileSync("/code/solution.js", "utf8");
    const module = { exports: {} };
    const load = new Function("module", "exports", "require",
      src + "\n;return (typeof " + cfg.fn_name + " !== 'undefined') ? " + cfg.fn_name + " : module.exports." + cfg.fn_name + ";");
    fn = load(module, module.exports, require);
    if (typeof fn !== "function") throw new ReferenceError("function " + cfg.fn_name + " is not defined");
  } catch (e) {
    emit({ load: String(e && e.name) + ": " + String(e && e.message).slice(0, 300) });
    return;
  }
  for (const args of cfg.tests) {
    try {
      let r = fn(...args);
      if (r && typeof r.then === "function") r = await r;
      emit({ ok: true, value: r === undefined ? null : r });
    } catch (e) {
      emit({ ok: false, error: String(e && e.name) + ": " + String(e && e.message).slice(0, 300) });
    }
  }
})();
`;

export type HarnessLine = { load: string } | { ok: true; value: unknown } | { ok: false; error: string };

/** The harness lines of a run's stdout, in order. Lines not starting with the nonce are the program's own. */
export function parseHarnessOutput(stdout: string, nonce: string): HarnessLine[] {
  const lines: HarnessLine[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.startsWith(nonce)) continue;
    try {
      lines.push(JSON.parse(line.slice(nonce.length)) as HarnessLine);
    } catch {
      // a truncated last line (output cap): ignore
    }
  }
  return lines;
}
