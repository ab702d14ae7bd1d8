import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { processAlive, sweepStaleTemps, tempWriterPid } from "../src/run/sweep.ts";

const dir = mkdtempSync(join(tmpdir(), "m2rl-sweep-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The pid of a process that has exited (so no process has it, barring an immediate reuse). */
const deadPid = spawnSync(process.execPath, ["-e", "0"]).pid as number;

describe("sweeping the temp files of killed runs", () => {
  it("reads the writer pid of every temp name the run folder's writers use", () => {
    expect(tempWriterPid("config.yaml.tmp-123-1700000000000")).toBe(123);
    expect(tempWriterPid("checkpoint.tmp-77")).toBe(77);
    expect(tempWriterPid(".model.safetensors.tmp-9-a1b2c3d4")).toBe(9);
    expect(tempWriterPid("checkpoint.tmp-5-a1b2c3d4.old")).toBe(5);
    expect(tempWriterPid("report.md")).toBeUndefined();
    expect(tempWriterPid("step-000010")).toBeUndefined();
    expect(processAlive(process.pid)).toBe(true);
    expect(processAlive(deadPid)).toBe(false);
  });

  it("removes dead writers' temp files and folders at any depth, keeps live writers' and regular files", async () => {
    const arm = join(dir, "arms", "single-math");
    mkdirSync(join(arm, `checkpoint.tmp-${deadPid}-a1b2c3d4`), { recursive: true });
    writeFileSync(join(arm, `checkpoint.tmp-${deadPid}-a1b2c3d4`, "model.safetensors"), "partial");
    mkdirSync(join(arm, "checkpoint"), { recursive: true });
    writeFileSync(join(arm, "checkpoint", `.model.safetensors.tmp-${deadPid}-ffff0000`), "");
    writeFileSync(join(arm, "checkpoint", "model.safetensors"), "complete");
    writeFileSync(join(arm, `eval.json.tmp-${deadPid}-1700000000000`), "{");
    writeFileSync(join(dir, `report.md.tmp-${deadPid}`), "#");
    writeFileSync(join(dir, `run.json.tmp-${process.ppid}-1`), "{}"); // a live process (this test's parent)
    writeFileSync(join(dir, "report.md"), "# done");
    const removed = await sweepStaleTemps(dir);
    expect(removed.map((p) => p.slice(dir.length + 1)).sort()).toEqual(
      [
        `arms/single-math/checkpoint.tmp-${deadPid}-a1b2c3d4`,
        `arms/single-math/checkpoint/.model.safetensors.tmp-${deadPid}-ffff0000`,
        `arms/single-math/eval.json.tmp-${deadPid}-1700000000000`,
        `report.md.tmp-${deadPid}`,
      ].sort(),
    );
    expect(existsSync(join(arm, "checkpoint", "model.safetensors"))).toBe(true);
    expect(existsSync(join(dir, `run.json.tmp-${process.ppid}-1`))).toBe(true);
    expect(existsSync(join(dir, "report.md"))).toBe(true);
    expect(await sweepStaleTemps(join(dir, "no-such-folder"))).toEqual([]);
  });
});
