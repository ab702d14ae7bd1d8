import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { interpreterBinds } from "./languages.ts";
import { Sandbox, sandboxUnavailableReason } from "./sandbox.ts";

const reason = sandboxUnavailableReason();
if (reason && process.env.M2RL_SKIP_SANDBOX_TESTS !== "1")
  throw new Error(`bubblewrap sandbox unavailable: ${reason} (set M2RL_SKIP_SANDBOX_TESTS=1 to skip)`);

// This file's sandboxes run as their own uid (when the tests run as root) and under their own host name, so that
// "no process left behind" can be checked even while other test files run sandboxes at the same time.
const UID = 61_000 + (process.pid % 1000);
const LABEL = `m2rl-sbtest-${process.pid}`;
const isRoot = process.getuid?.() === 0;

/** Live (non-zombie) processes of this file's sandboxes: bwrap by its label, programs by their uid. */
function leftovers(): string[] {
  const out = execFileSync("ps", ["-eo", "pid,uid,stat,args"], { encoding: "utf8" });
  return out.split("\n").filter((l) => {
    const [, uid, stat] = l.trim().split(/\s+/);
    if (!stat || stat.startsWith("Z")) return false;
    return l.includes(LABEL) || (isRoot && Number(uid) === UID);
  });
}

describe.skipIf(!!reason)("sandbox", () => {
  let root: string;
  let sb: Sandbox;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "m2rl-sbtest-"));
    chmodSync(root, 0o777); // tempting: world-writable
    sb = new Sandbox({
      bwrap: { unprivilegedUid: UID, hostname: LABEL },
      concurrency: 2,
      limits: { wallMs: 4000, cpuSeconds: 2 },
    });
  });
  afterAll(async () => {
    await sb.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("runs Python with stdin and captures stdout / stderr", async () => {
    const r = await sb.run({
      language: "python",
      code: "import sys\nn=int(input())\nprint(n*2)\nprint('warn', file=sys.stderr)",
      stdin: "21\n",
    });
    expect(r.outcome).toBe("ok");
    expect(r.stdout).toBe("42\n");
    expect(r.stderr).toBe("warn\n");
  });

  it("runs JavaScript (node) with stdin", async () => {
    const r = await sb.run({
      language: "javascript",
      code: 'const s=require("fs").readFileSync(0,"utf8");console.log(s.trim().split(" ").map(Number).reduce((a,b)=>a+b))',
      stdin: "1 2 3\n",
    });
    expect(r.outcome).toBe("ok");
    expect(r.stdout).toBe("6\n");
  });

  it("reports a non-zero exit with its status and stderr", async () => {
    const r = await sb.run({ language: "python", code: "raise ValueError('boom')" });
    expect(r.outcome).toBe("exit");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/ValueError: boom/);
  });

  it("scratch is writable, fresh and private to each run", async () => {
    const code =
      "import os\nprint(sorted(os.listdir('.')))\nopen('f.txt','w').write('x'*1000)\nprint(os.path.getsize('f.txt'))";
    const a = await sb.run({ language: "python", code });
    const b = await sb.run({ language: "python", code });
    expect(a.stdout).toBe("[]\n1000\n");
    expect(b.stdout).toBe("[]\n1000\n"); // the second run does not see the first run's file
  });

  it("cannot write outside scratch", async () => {
    const marker = `m2rl-escape-${process.pid}-${Date.now()}`;
    const targets = [
      "/usr/" + marker,
      "/code/" + marker,
      "/" + marker,
      "/etc/" + marker,
      `${root}/${marker}`,
    ];
    const code = `import os\nok=[]\nfor p in ${JSON.stringify(targets)}:\n    try:\n        open(p,'w').write('pwned'); ok.append(p)\n    except Exception as e:\n        pass\nprint(ok)`;
    const r = await sb.run({ language: "python", code });
    expect(r.stdout).toBe("[]\n");
    for (const t of targets) expect(existsSync(t)).toBe(false);
    // /tmp inside the sandbox is scratch, not the host's /tmp
    const r2 = await sb.run({
      language: "python",
      code: `open('/tmp/${marker}','w').write('x')\nprint('wrote')`,
    });
    expect(r2.stdout).toBe("wrote\n");
    expect(existsSync(join("/tmp", marker))).toBe(false);
  });

  it("cannot read a secret file outside the sandbox", async () => {
    const dir = mkdtempSync(join(tmpdir(), "m2rl-secret-"));
    const secret = join(dir, "secret.txt");
    writeFileSync(secret, "TOP-SECRET-42", { mode: 0o644 });
    try {
      const code = `import os\nfor p in [${JSON.stringify(secret)}, '/etc/passwd', '/root/.bashrc', '/proc/1/environ']:\n    try:\n        print(open(p).read()[:50])\n    except Exception as e:\n        print(type(e).__name__)`;
      const r = await sb.run({ language: "python", code });
      expect(r.stdout).not.toContain("TOP-SECRET-42");
      expect(r.stdout).not.toContain("root:");
      expect(r.stdout.split("\n")[0]).toBe("FileNotFoundError");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("has no network", async () => {
    const code =
      "import socket\nfor host in [('127.0.0.1', 22), ('1.1.1.1', 53)]:\n    try:\n        socket.create_connection(host, timeout=1); print('connected')\n    except OSError as e:\n        print('refused', e.errno)\ns=socket.socket(); s.bind(('127.0.0.1', 0)); print('bound-only-inside')";
    const r = await sb.run({ language: "python", code });
    expect(r.stdout).not.toContain("connected");
    // only a private loopback exists (own network namespace): binding there is harmless
  });

  it("contains a fork bomb (RLIMIT_NPROC) and leaves no process behind", async () => {
    const code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass";
    const r = await sb.run({ language: "python", code, limits: { wallMs: 1500 } });
    expect(r.outcome).toBe("timeout");
    await new Promise((res) => setTimeout(res, 200));
    expect(leftovers()).toEqual([]);
  });

  it("stops an 8 GB allocation (Python and JavaScript)", async () => {
    const py = await sb.run({ language: "python", code: "b = bytearray(8 * 1024**3)\nprint('allocated')" });
    expect(py.outcome).toBe("memory");
    expect(py.stdout).toBe("");
    const js = await sb.run({
      language: "javascript",
      code: "const a=[];for(;;)a.push(new Float64Array(1<<20).fill(1));",
      limits: { memoryBytes: 256 * 1024 * 1024 },
    });
    expect(["memory", "signal"]).toContain(js.outcome);
    expect(js.outcome).not.toBe("ok");
  });

  it("kills an infinite loop (CPU limit) and a sleeper (wall limit)", async () => {
    const loop = await sb.run({ language: "python", code: "while True: pass", limits: { cpuSeconds: 1 } });
    expect(loop.outcome).toBe("timeout");
    const t0 = performance.now();
    const sleep = await sb.run({
      language: "python",
      code: "import time\ntime.sleep(60)",
      limits: { wallMs: 800 },
    });
    expect(sleep.outcome).toBe("timeout");
    expect(performance.now() - t0).toBeLessThan(5000);
    const jsLoop = await sb.run({ language: "javascript", code: "for(;;){}", limits: { wallMs: 1500 } });
    expect(jsLoop.outcome).toBe("timeout");
  });

  it("stops a program printing 1 GB at the output cap", async () => {
    const t0 = performance.now();
    const r = await sb.run({
      language: "python",
      code: "import sys\nchunk='x'*(1<<20)\nfor _ in range(1024): sys.stdout.write(chunk)",
      limits: { stdoutBytes: 64 * 1024 },
    });
    expect(r.outcome).toBe("output_limit");
    expect(r.truncated).toBe(true);
    expect(r.stdout.length).toBe(64 * 1024);
    expect(performance.now() - t0).toBeLessThan(4000);
  });

  it("survives a program that kills its parent and everything it can see", async () => {
    const code =
      "import os, signal\nfor p in [os.getppid(), 1, -1]:\n    try:\n        os.kill(p, signal.SIGKILL)\n    except Exception as e:\n        print(type(e).__name__)\nprint('still here', os.getpid())";
    const r = await sb.run({ language: "python", code });
    expect(r.outcome).toBe("ok");
    expect(r.stdout).toMatch(/still here \d+/);
    expect(Number(r.stdout.match(/still here (\d+)/)?.[1])).toBeLessThan(10); // own PID namespace
    const sh = await sb.run({
      language: "python",
      code: "import os\nos.system('kill -9 -1')\nprint('after')",
    });
    expect(sh.outcome).not.toBe("timeout");
    // this test process is alive, and so is the sandbox: it still runs programs
    const ok = await sb.run({ language: "python", code: "print(1)" });
    expect(ok.stdout).toBe("1\n");
  });

  it("a daemonised grandchild does not survive the run", async () => {
    const code =
      "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(30)\n    os._exit(0)\nprint('parent done')";
    const r = await sb.run({ language: "python", code });
    expect(r.outcome).toBe("ok");
    await new Promise((res) => setTimeout(res, 300));
    expect(leftovers()).toEqual([]);
  });

  it("bounds parallelism and rejects beyond the queue limit", async () => {
    const small = new Sandbox({
      bwrap: { unprivilegedUid: UID, hostname: LABEL },
      concurrency: 2,
      maxQueue: 3,
    });
    const runs = Array.from({ length: 5 }, () =>
      small.run({ language: "python", code: "import time\ntime.sleep(0.3)" }),
    );
    expect(small.load.active).toBeLessThanOrEqual(2);
    await expect(small.run({ language: "python", code: "print(1)" })).rejects.toThrow(/queue is full/);
    const done = await Promise.all(runs);
    expect(done.every((r) => r.outcome === "ok")).toBe(true);
    await small.close();
  });

  it("close() kills running sandboxes and rejects queued runs", async () => {
    const s = new Sandbox({ bwrap: { unprivilegedUid: UID, hostname: LABEL }, concurrency: 1 });
    const running = s.run({ language: "python", code: "import time\ntime.sleep(30)" });
    const queued = s.run({ language: "python", code: "print(1)" });
    await new Promise((res) => setTimeout(res, 300));
    await s.close();
    await expect(queued).rejects.toThrow(/closed before the run started/);
    const r = await running;
    expect(r.outcome).not.toBe("ok");
    await expect(s.run({ language: "python", code: "print(1)" })).rejects.toThrow(/closed/);
  });

  it("an aborted run kills the sandbox's process group at once and rejects", async () => {
    const s = new Sandbox({
      bwrap: { unprivilegedUid: UID, hostname: LABEL },
      concurrency: 1,
      limits: { wallMs: 30_000 },
    });
    const ac = new AbortController();
    const t0 = performance.now();
    const running = s.run({ language: "python", code: "import time\ntime.sleep(60)", signal: ac.signal });
    const queued = s.run({ language: "python", code: "print(1)", signal: ac.signal });
    await new Promise((res) => setTimeout(res, 500));
    ac.abort();
    await expect(running).rejects.toThrow(/cancelled/);
    await expect(queued).rejects.toThrow(/cancelled/);
    expect(performance.now() - t0).toBeLessThan(10_000); // the wall limit is 30 s
    expect(s.load).toEqual({ active: 0, pending: 0 });
    await new Promise((res) => setTimeout(res, 300));
    expect(leftovers()).toEqual([]);
    // an already aborted signal never starts a sandbox
    await expect(s.run({ language: "python", code: "print(1)", signal: ac.signal })).rejects.toThrow(
      /cancelled/,
    );
    await s.close();
  });

  it("leaves no process and no file behind after all of the above", () => {
    expect(leftovers()).toEqual([]);
    expect(readdirSync(root)).toEqual([]);
  });
});

describe("interpreterBinds", () => {
  it("binds the install prefix of an interpreter outside /usr, nothing for /usr", () => {
    expect(interpreterBinds("/usr/bin/python3")).toEqual([]);
    expect(interpreterBinds("/usr/local/bin/node")).toEqual([]);
    expect(interpreterBinds("/opt/node-v20/bin/node")).toEqual(["/opt/node-v20"]);
    expect(interpreterBinds("/home/u/.nvm/versions/node/v20.1.0/bin/node")).toEqual([
      "/home/u/.nvm/versions/node/v20.1.0",
    ]);
    expect(interpreterBinds("/opt/py/python3")).toEqual(["/opt/py"]);
  });
});

describe("sandbox start failures are SandboxErrors, never program failures", () => {
  it("a missing bwrap", async () => {
    const s = new Sandbox({ bwrap: { bwrapPath: "/nonexistent/bwrap" } });
    await expect(s.run({ language: "python", code: "print(1)" })).rejects.toThrow(/sandbox|bwrap/);
  });
  it("the program inherits only stdin, stdout and stderr", async () => {
    const s = new Sandbox();
    const r = await s.run({
      language: "python",
      code: "import os\nprint(sorted(int(f) for f in os.listdir('/proc/self/fd')))",
    });
    expect(r.stdout).toBe("[0, 1, 2, 3]\n"); // 3 is the directory listing itself
  });
  it("a program cannot fake a sandbox failure", async () => {
    const s = new Sandbox();
    const r = await s.run({
      language: "python",
      code: "import sys\nsys.stderr.write('bwrap: Can\\'t mount\\n')\nsys.exit(1)",
    });
    expect(r.outcome).toBe("exit");
  });
  it("a bad bind (setup fails inside bwrap)", async () => {
    const s = new Sandbox({ bwrap: { extraReadOnly: ["/nonexistent-dir-m2rl"] } });
    await expect(s.run({ language: "python", code: "print(1)" })).rejects.toThrow(
      /failed to start.*nonexistent-dir-m2rl/,
    );
  });
});
