/**
 * Progress display of `m2rl run`: one line per arm with a bar, units done, rate and ETA (cli-progress), plus a
 * line when an arm is skipped (cached) or finished. Writes to stderr so stdout stays for results.
 */
import { Presets, SingleBar } from "cli-progress";

export class RunDisplay {
  private bar: SingleBar | undefined;
  private current = "";
  private readonly tty: boolean;
  private lastPrint = 0;

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(out.isTTY);
  }

  line(text: string): void {
    this.stop();
    this.out.write(`${text}\n`);
  }

  /** `done` of `total` units for arm `arm` (total NaN: unknown, shows a counter). */
  progress(arm: string, label: string, done: number, total: number, unit: string): void {
    if (!this.tty) {
      // Non-interactive (CI, pipes): a plain line at most every 5 s, and at the end.
      const now = Date.now();
      if (done === total || now - this.lastPrint > 5000) {
        this.lastPrint = now;
        this.out.write(`  ${label} ${arm}: ${done}${Number.isFinite(total) ? `/${total}` : ""} ${unit}\n`);
      }
      return;
    }
    if (this.current !== `${arm}/${unit}` || !this.bar) {
      this.stop();
      this.current = `${arm}/${unit}`;
      this.bar = new SingleBar(
        {
          stream: this.out,
          format: `  ${label} {arm} |{bar}| {value}/{total} {unit} | {rate}/s | ETA {eta_formatted}`,
          hideCursor: true,
          etaBuffer: 20,
        },
        Presets.shades_classic,
      );
      this.bar.start(Number.isFinite(total) ? total : 0, 0, { arm, unit, rate: "0.0" });
      this.startedAt = Date.now();
    }
    if (Number.isFinite(total)) this.bar.setTotal(total);
    const secs = (Date.now() - this.startedAt) / 1000;
    this.bar.update(done, { arm, unit, rate: secs > 0 ? (done / secs).toFixed(1) : "0.0" });
  }

  private startedAt = 0;

  stop(): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = undefined;
      this.current = "";
    }
  }
}
