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

/**
 * In-sandbox runner of the batched stdin/stdout style (Python): one sandbox per response, a fresh process per
 * test. The runner reads `{nonce, inputs, wall_ms, out_cap, err_cap, stop_on_timeout}` from stdin, then for each
 * input forks a child (own session) that runs /code/solution.py as `__main__` with that input on its stdin, enforces
 * the per-test wall clock (SIGKILL to the child's process group) and output caps, and prints one line
 * `<nonce><json>` per test with the child's stdout, the tail of its stderr and how it ended. Expected outputs never
 * enter the sandbox: they are compared in the parent.
 */
export const PYTHON_BATCH_RUNNER = String.raw`
import sys, os, json, select, signal, time, traceback
_cfg = json.loads(sys.stdin.buffer.read())
_nonce = _cfg.pop("nonce")
with open("/code/solution.py", encoding="utf-8") as _f:
    _src = _f.read()

def _child(r0, w1, w2):
    os.setsid()
    os.dup2(r0, 0); os.dup2(w1, 1); os.dup2(w2, 2)
    for fd in (r0, w1, w2):
        os.close(fd)
    sys.stdin = open(0, "r", encoding="utf-8", errors="replace", closefd=False)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)
    code = 0
    try:
        exec(compile(_src, "/code/main.py", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
    except SystemExit as e:
        if e.code is None: code = 0
        elif isinstance(e.code, int): code = e.code & 255
        else:
            sys.stderr.write(str(e.code) + "\n"); code = 1
    except BaseException:
        traceback.print_exc(); code = 1
    try:
        sys.stdout.flush(); sys.stderr.flush()
    except BaseException:
        code = code or 1
    os._exit(code)

def _run(data):
    r0, w0 = os.pipe(); r1, w1 = os.pipe(); r2, w2 = os.pipe()
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(w0); os.close(r1); os.close(r2)
        _child(r0, w1, w2)
    os.close(r0); os.close(w1); os.close(w2)
    os.set_blocking(w0, False)
    pending = data.encode("utf-8")
    if not pending:
        os.close(w0); w0 = -1
    out, err = bytearray(), bytearray()
    open_fds = {r1: out, r2: err}
    caps = {r1: _cfg["out_cap"], r2: _cfg["err_cap"]}
    deadline = t0 + _cfg["wall_ms"] / 1000.0
    why = None
    while open_fds:
        left = deadline - time.monotonic()
        if left <= 0:
            why = "timeout"; break
        ws = [w0] if w0 >= 0 else []
        rl, wl, _ = select.select(list(open_fds), ws, [], left)
        for fd in wl:
            try:
                n = os.write(fd, pending[:65536]); pending = pending[n:]
            except OSError:
                pending = b""
            if not pending:
                os.close(w0); w0 = -1
        for fd in rl:
            chunk = os.read(fd, 65536)
            if not chunk:
                del open_fds[fd]; os.close(fd); continue
            buf = open_fds[fd]
            buf += chunk
            if len(buf) > caps[fd]:
                del buf[caps[fd]:]
                why = "output_limit"
        if why: break
    if why:
        for k in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
            try: k()
            except OSError: pass
    for fd in list(open_fds) + ([w0] if w0 >= 0 else []):
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    try: os.killpg(pid, signal.SIGKILL)
    except OSError: pass
    code = os.waitstatus_to_exitcode(status)
    if why is None and code == -signal.SIGXCPU:
        why = "timeout"
    return {"exit": code if code >= 0 else None, "signal": -code if code < 0 else None, "why": why,
            "stdout": out.decode("utf-8", "replace"), "stderr": err[-4000:].decode("utf-8", "replace"),
            "ms": (time.monotonic() - t0) * 1000.0}

for _inp in _cfg["inputs"]:
    _r = _run(_inp)
    os.write(1, ("\n" + _nonce + json.dumps(_r) + "\n").encode("utf-8"))
    if _r["why"] == "timeout" and _cfg["stop_on_timeout"]:
        break
`;

/** One test's report from PYTHON_BATCH_RUNNER. */
export interface BatchTestReport {
  exit: number | null;
  signal: number | null;
  why: "timeout" | "output_limit" | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** The runner's per-test reports, in order (program output never reaches the runner's stdout). */
export function parseBatchOutput(stdout: string, nonce: string): BatchTestReport[] {
  const out: BatchTestReport[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.startsWith(nonce)) continue;
    try {
      out.push(JSON.parse(line.slice(nonce.length)) as BatchTestReport);
    } catch {
      // truncated by the sandbox's output cap: the test counts as not run
    }
  }
  return out;
}
