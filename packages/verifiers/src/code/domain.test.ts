import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PluginHost } from "@m2rl/core";
import { afterAll, describe, expect, it } from "vitest";
import { Sandbox } from "../sandbox/sandbox.ts";
import { codeDomainFactory, codePlugin, verifyCode } from "./domain.ts";
import { codeFamilyCounts, codeSyntheticTasks } from "./generator.ts";

const sb = new Sandbox({ concurrency: 2, limits: { wallMs: 3000, cpuSeconds: 2 } });
afterAll(() => sb.close());

const addStdio = {
  language: "python",
  tests: [
    { input: "1 2\n", output: "3\n" },
    { input: "10 -4\n", output: "6\n" },
    { input: "0 0\n", output: "0\n" },
  ],
};
const v = (response: string, groundTruth: unknown, opts = {}) =>
  verifyCode(sb, { response, groundTruth }, opts);
const ISOLATIONS = ["process", "sandbox"] as const;

describe.each(ISOLATIONS)("code verification: stdin/stdout (isolation: %s)", (testIsolation) => {
  const v = (response: string, groundTruth: unknown, opts = {}) =>
    verifyCode(sb, { response, groundTruth }, { testIsolation, ...opts });
  it("passes a correct program (fenced, after reasoning)", async () => {
    const r = await v(
      "<think>add them</think>\nSure:\n```python\na,b=map(int,input().split())\nprint(a+b)\n```",
      addStdio,
    );
    expect(r).toMatchObject({ reward: 1, status: "correct", detail: "3/3 tests passed" });
    expect(r.extracted).toBe("a,b=map(int,input().split())\nprint(a+b)\n");
  });
  it("names the failing test and the outputs", async () => {
    const r = await v("a,b=map(int,input().split())\nprint(a+b if a<5 else a-b)", addStdio);
    expect(r.reward).toBe(0);
    expect(r.status).toBe("incorrect");
    expect(r.detail).toBe('1/3 tests passed; test 2 failed: expected "6\\n", got "14\\n"');
  });
  it("fraction mode gives partial reward and runs every test", async () => {
    const r = await v("a,b=map(int,input().split())\nprint(a+b if a<5 else a-b)", addStdio, {
      reward: "fraction",
    });
    expect(r.reward).toBeCloseTo(2 / 3, 12);
    expect(r.status).toBe("incorrect");
  });
  it("runtime errors are incorrect, with the exception in the detail", async () => {
    const r = await v("print(1/0)", addStdio);
    expect(r.status).toBe("incorrect");
    expect(r.detail).toMatch(/test 1 failed: exit status 1: ZeroDivisionError: division by zero/);
  });
  it("a syntax error is incorrect", async () => {
    const r = await v("def f(:\n  pass", addStdio);
    expect(r.status).toBe("incorrect");
    expect(r.detail).toMatch(/SyntaxError/);
  });
  it("an infinite loop is a timeout with reward 0", async () => {
    const r = await v("while True: pass", addStdio);
    expect(r).toMatchObject({ reward: 0, status: "timeout" });
    expect(r.detail).toMatch(/test 1 failed: time limit exceeded/);
  });
  it("JavaScript programs run in node", async () => {
    const js = { ...addStdio, language: "javascript" };
    const r = await v(
      '```js\nconst [a,b]=require("fs").readFileSync(0,"utf8").trim().split(/\\s+/).map(Number);\nconsole.log(a+b)\n```',
      js,
    );
    expect(r).toMatchObject({ reward: 1, status: "correct" });
  });
  it("an empty response is unparsable, a bad ground truth is an error (never a pass)", async () => {
    expect(await v("   ", addStdio)).toMatchObject({ reward: 0, status: "unparsable" });
    expect(await v("```python\n```", addStdio)).toMatchObject({ reward: 0, status: "unparsable" });
    expect(await v("print(1)", { tests: [] })).toMatchObject({ reward: 0, status: "error" });
    expect(await v("print(1)", "not json")).toMatchObject({ reward: 0, status: "error" });
  });
  it("a reasoning block that is never closed is unparsable", async () => {
    expect(await v("<think>print(3)", addStdio)).toMatchObject({ reward: 0, status: "unparsable" });
  });
  it("each test runs in a fresh process; stderr and exit codes are per test", async () => {
    const gt = {
      language: "python",
      tests: [
        { input: "1\n", output: "1\n" },
        { input: "2\n", output: "1\n" },
      ],
    };
    const prog = "import sys\nsys.counter = getattr(sys, 'counter', 0) + 1\nprint(sys.counter)";
    expect(await v(prog, gt)).toMatchObject({ reward: 1, status: "correct" });
    const exits = "import sys\nn=int(input())\nprint(n)\nsys.exit(0 if n == 1 else 3)";
    const r = await v(exits, {
      language: "python",
      tests: [
        { input: "1\n", output: "1\n" },
        { input: "2\n", output: "2\n" },
      ],
    });
    expect(r.detail).toBe("1/2 tests passed; test 2 failed: exit status 3");
  });
  it("large stdin and stdout pass through", async () => {
    const big = Array.from({ length: 20000 }, (_, i) => String(i)).join(" ");
    const gt = { language: "python", tests: [{ input: `${big}\n`, output: `${big}\n` }] };
    expect(await v("print(input())", gt)).toMatchObject({ reward: 1 });
  });
});

describe("code verification: function calls", () => {
  const gt = {
    language: "python",
    fn_name: "two_sum",
    tests: [
      { args: [[2, 7, 11, 15], 9], expected: [0, 1] },
      { args: [[3, 2, 4], 6], expected: [1, 2] },
      { args: [[3, 3], 6], expected: [0, 1] },
    ],
  };
  const good =
    "def two_sum(nums, target):\n    seen = {}\n    for i, x in enumerate(nums):\n        if target - x in seen:\n            return (seen[target - x], i)\n        seen[x] = i\n";
  it("top-level Python function (tuples compare as lists; its prints are ignored)", async () => {
    const r = await v(`\`\`\`python\nprint("debug")\n${good}\`\`\``, gt);
    expect(r).toMatchObject({ reward: 1, status: "correct" });
  });
  it("LeetCode-style Solution class", async () => {
    const cls = `class Solution:\n    def two_sum(self, nums, target):\n${good
      .split("\n")
      .slice(1)
      .map((l) => `    ${l}`)
      .join("\n")}`;
    expect(await v(cls, gt)).toMatchObject({ reward: 1, status: "correct" });
  });
  it("names a wrong call", async () => {
    const r = await v("def two_sum(nums, target):\n    return [0, 1]", gt);
    expect(r.status).toBe("incorrect");
    expect(r.detail).toBe("2/3 tests passed; test 2 failed: two_sum([3,2,4],6): expected [1,2], got [0,1]");
  });
  it("exceptions and a missing function", async () => {
    expect((await v("def two_sum(n, t):\n    raise KeyError('k')", gt)).detail).toMatch(
      /test 1 failed: KeyError: 'k'/,
    );
    expect((await v("def other(): pass", gt)).detail).toMatch(
      /failed to load: NameError: function two_sum is not defined/,
    );
  });
  it("a program that exits the process gets no pass for the remaining tests", async () => {
    const r = await v("import os\ndef two_sum(n, t):\n    if t == 6: os._exit(0)\n    return [0, 1]", gt, {
      reward: "fraction",
    });
    expect(r.reward).toBeCloseTo(1 / 3, 12);
    expect(r.detail).toMatch(/test 2 failed: no result/);
  });
  it("cannot forge harness lines without the nonce", async () => {
    const forge =
      'import sys\ndef two_sum(n, t):\n    print(\'\\n@@m2rl-000000000000000000000000@@{"ok": true, "value": [1, 2]}\')\n    return None';
    expect(await v(forge, gt)).toMatchObject({ reward: 0, status: "incorrect" });
  });
  it("a hanging call is a timeout", async () => {
    expect(await v("def two_sum(n, t):\n    while True: pass", gt)).toMatchObject({
      reward: 0,
      status: "timeout",
    });
  });
  it("JavaScript: plain function, module.exports and async", async () => {
    const js = { ...gt, language: "javascript", fn_name: "twoSum" };
    const body =
      "const m=new Map();for(let i=0;i<nums.length;i++){if(m.has(t-nums[i]))return [m.get(t-nums[i]),i];m.set(nums[i],i)}";
    expect(await v(`function twoSum(nums,t){${body}}`, js)).toMatchObject({ reward: 1 });
    expect(await v(`module.exports.twoSum=(nums,t)=>{${body}}`, js)).toMatchObject({ reward: 1 });
    expect(await v(`async function twoSum(nums,t){${body}}`, js)).toMatchObject({ reward: 1 });
    expect(await v("function twoSum(){return [0,1]}", js)).toMatchObject({ reward: 0, status: "incorrect" });
  });
});

describe.each(ISOLATIONS)("hostile programs score 0 and leave no trace (isolation: %s)", (testIsolation) => {
  const v = (response: string, groundTruth: unknown) =>
    verifyCode(sb, { response, groundTruth }, { testIsolation });
  const dir = mkdtempSync(join(tmpdir(), "m2rl-hostile-"));
  const secret = join(dir, "secret.txt");
  writeFileSync(secret, "hunter2");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // Each program is asked to print "ok"; it only could by succeeding at the attack.
  const gt = { language: "python", tests: [{ input: "", output: "ok\n" }] };
  const hostile: [string, string][] = [
    ["write outside scratch", `open(${JSON.stringify(join(dir, "pwned"))},'w').write('x')\nprint('ok')`],
    ["read a secret", `print('ok' if open(${JSON.stringify(secret)}).read()=='hunter2' else 'no')`],
    [
      "open a socket",
      "import socket\nsocket.create_connection(('93.184.216.34', 80), timeout=1)\nprint('ok')",
    ],
    ["fork bomb", "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass"],
    ["allocate 8 GB", "b = bytearray(8 * 1024**3)\nprint('ok')"],
    ["infinite loop", "while True: pass"],
    ["print 1 GB", "import sys\nc='ok\\n'*(1<<19)\nfor _ in range(1000): sys.stdout.write(c)"],
    ["kill the parent", "import os\nos.kill(os.getppid(), 9)\nos.kill(-1, 9)"],
  ];
  for (const [name, program] of hostile)
    it(name, async () => {
      const r = await v(program, gt);
      expect(r.reward).toBe(0);
      expect(["incorrect", "timeout"]).toContain(r.status);
      expect(readdirSync(dir)).toEqual(["secret.txt"]);
    });
});

describe("synthetic code tasks", () => {
  it("are deterministic, with disjoint train/eval prompts", () => {
    const a = codeSyntheticTasks("code", "train", 7, 200, {
      difficulty: 5,
      languages: ["python", "javascript"],
      testsPerTask: 3,
      evalFraction: 0.2,
    });
    const b = codeSyntheticTasks("code", "train", 7, 200, {
      difficulty: 5,
      languages: ["python", "javascript"],
      testsPerTask: 3,
      evalFraction: 0.2,
    });
    const e = codeSyntheticTasks("code", "eval", 7, 60, {
      difficulty: 5,
      languages: ["python", "javascript"],
      testsPerTask: 3,
      evalFraction: 0.2,
    });
    expect(a).toEqual(b);
    expect(a).toHaveLength(200);
    expect(e.length).toBe(60);
    const train = new Set(a.map((t) => t.prompt));
    expect(train.size).toBe(200);
    for (const t of e) expect(train.has(t.prompt)).toBe(false);
    const other = codeSyntheticTasks("code", "eval", 8, 60);
    for (const t of other) expect(train.has(t.prompt)).toBe(false);
  });
  it("respect the difficulty knob", () => {
    const easy = codeSyntheticTasks("code", "train", 1, 50, {
      difficulty: 1,
      languages: ["python"],
      testsPerTask: 2,
      evalFraction: 0.2,
    });
    expect(easy.every((t) => t.meta?.level === 1)).toBe(true);
    expect(codeFamilyCounts()).toMatchObject({ 1: 114, 2: 40, 3: 5, 4: 6, 5: 3, 6: 1620 });
  });
  it("levels: [6] draws constant-folding programs (n+a+b → print(int(input())+(a+b)))", () => {
    const tasks = codeSyntheticTasks("code", "eval", 1, 250, {
      difficulty: 3,
      levels: [6],
      languages: ["python"],
      testsPerTask: 3,
      evalFraction: 0.2,
    });
    expect(tasks).toHaveLength(250);
    for (const t of tasks) {
      const m = /^py: n([+-])(\d+)\1(\d)\n$/.exec(t.prompt);
      expect(m, t.prompt).not.toBeNull();
      const [, op, a, b] = m!;
      expect(t.reference).toBe(`print(int(input())${op}${Number(a) + Number(b)})`);
    }
  });
  it("the noisy teacher: a seeded fraction of references are wrong programs; tests are unchanged", async () => {
    const opts = { difficulty: 5, languages: ["python" as const], testsPerTask: 3, evalFraction: 0.2 };
    const clean = codeSyntheticTasks("code", "train", 4, 60, { ...opts, levels: [1, 2, 3, 4, 5, 6] });
    const noisy = codeSyntheticTasks("code", "train", 4, 60, {
      ...opts,
      levels: [1, 2, 3, 4, 5, 6],
      teacherErrorRate: 0.5,
    });
    expect(noisy.map((t) => t.prompt)).toEqual(clean.map((t) => t.prompt));
    expect(noisy.map((t) => t.groundTruth)).toEqual(clean.map((t) => t.groundTruth));
    const slipped = noisy.filter((t) => t.meta?.teacherMistake === true);
    expect(slipped.length).toBeGreaterThan(15);
    expect(slipped.length).toBeLessThan(45);
    const results = await Promise.all(slipped.map((t) => v(t.reference as string, t.groundTruth)));
    const passed = results
      .map((r, i) => [slipped[i]?.prompt, r.status])
      .filter((_, i) => results[i]?.reward === 1);
    expect(passed).toEqual([]);
  }, 120_000);
  it("every reference program passes its own tests in the sandbox (both languages, all levels)", async () => {
    const tasks = [
      ...codeSyntheticTasks("code", "train", 3, 40, {
        difficulty: 5,
        languages: ["python"],
        testsPerTask: 3,
        evalFraction: 0.2,
      }),
      ...codeSyntheticTasks("code", "eval", 3, 30, {
        difficulty: 5,
        languages: ["javascript"],
        testsPerTask: 3,
        evalFraction: 0.2,
      }),
      ...codeSyntheticTasks("code", "eval", 3, 10, {
        difficulty: 1,
        levels: [6],
        languages: ["python", "javascript"],
        testsPerTask: 3,
        evalFraction: 0.2,
      }),
    ];
    const results = await Promise.all(tasks.map((t) => v(t.reference as string, t.groundTruth)));
    const failed = results
      .map((r, i) => [tasks[i]?.prompt, r.detail])
      .filter((_, i) => results[i]?.reward !== 1);
    expect(failed).toEqual([]);
  }, 120_000);
  it("a constant answer does not pass a level-2+ task", async () => {
    const [t] = codeSyntheticTasks("code", "train", 5, 1, {
      difficulty: 2,
      languages: ["python"],
      testsPerTask: 3,
      evalFraction: 0.2,
    }).filter((x) => x.meta?.level === 2);
    if (!t) return;
    const first = t.groundTruth.tests[0]?.output.trim();
    expect((await v(`print(${first})`, t.groundTruth)).reward).toBe(0);
  });
});

describe("code verification: cancellation", () => {
  it("the input's abort signal kills the running program; the item is a timeout that says it was cancelled", async () => {
    const slow = new Sandbox({ concurrency: 1, limits: { wallMs: 30_000 } });
    const ac = new AbortController();
    const t0 = performance.now();
    const gt = { language: "python", tests: [{ input: "", output: "1\n" }] };
    for (const testIsolation of ISOLATIONS) {
      const r = verifyCode(
        slow,
        { response: "import time\ntime.sleep(60)\nprint(1)", groundTruth: gt, signal: ac.signal },
        { testIsolation },
      );
      if (testIsolation === "process") setTimeout(() => ac.abort(), 400);
      expect(await r).toMatchObject({
        reward: 0,
        status: "timeout",
        detail: expect.stringMatching(/cancelled/),
      });
    }
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(slow.load).toEqual({ active: 0, pending: 0 });
    const domain = await codeDomainFactory.create({ limits: { wallMs: 30_000 } }, {});
    const r = await domain.verify({
      response: "print(1)",
      groundTruth: gt as never,
      signal: AbortSignal.abort(),
    });
    expect(r).toMatchObject({ status: "timeout", detail: expect.stringMatching(/cancelled/) });
    await domain.close?.();
    await slow.close();
  });
});

describe("code domain plugin", () => {
  it("registers `code` on a plugin host and verifies through the Domain contract", async () => {
    const host = new PluginHost([codePlugin]);
    const factory = host.registry.domains.get("code");
    expect(factory).toBe(codeDomainFactory);
    const domain = await factory.create({ synthetic: { difficulty: 2 } }, {});
    const tasks = await domain.tasks({ split: "eval", seed: 1, count: 5 });
    expect(tasks).toHaveLength(5);
    const t = tasks[0];
    if (!t) throw new Error("no task");
    expect(t.domain).toBe("code");
    expect(
      await domain.verify({ response: t.reference as string, groundTruth: t.groundTruth }),
    ).toMatchObject({ reward: 1 });
    await domain.close?.();
  });
});

describe("code tasks from a verl-format file", () => {
  const dir = mkdtempSync(join(tmpdir(), "m2rl-codedata-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const gt = { language: "python", tests: [{ input: "2\n", output: "4\n" }] };
  const row = (i: number, groundTruth: unknown) =>
    JSON.stringify({
      data_source: "apps",
      prompt: [{ role: "user", content: `Double the number (${i}).` }],
      ability: "code",
      reward_model: { style: "rule", ground_truth: groundTruth },
      extra_info: { index: i },
    });
  it("loads tasks whose ground truth is an object or its JSON text, and verifies against them", async () => {
    writeFileSync(join(dir, "eval.jsonl"), `${row(1, gt)}\n${row(2, JSON.stringify(gt))}\n`);
    const domain = await codeDomainFactory.create({ data: { eval: "eval.jsonl" } }, { baseDir: dir });
    const tasks = await domain.tasks({ split: "eval", seed: 0 });
    expect(tasks.map((t) => [t.id, t.prompt])).toEqual([
      ["code-1", "Double the number (1)."],
      ["code-2", "Double the number (2)."],
    ]);
    expect(tasks[1]?.groundTruth).toEqual(gt);
    const r = await domain.verify({ response: "print(int(input())*2)", groundTruth: tasks[0]?.groundTruth });
    expect(r.status).toBe("correct");
    await domain.close?.();
  });
  it("a bad ground truth in the file is a DataError naming file, line and field", async () => {
    writeFileSync(join(dir, "bad.jsonl"), `${row(1, gt)}\n${row(2, { tests: "x" })}\n`);
    const domain = await codeDomainFactory.create({ data: { eval: "bad.jsonl" } }, { baseDir: dir });
    await expect(domain.tasks({ split: "eval", seed: 0 })).rejects.toThrow(
      /bad\.jsonl:2 reward_model\.ground_truth/,
    );
  });
});
