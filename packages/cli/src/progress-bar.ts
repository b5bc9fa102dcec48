/**
 * A one-line progress bar on a terminal, nothing otherwise (so logs and pipes stay clean).
 * Redraws at most every 100 ms: drawing per device would cost more than issuing it.
 */
export class ProgressBar {
  private lastDraw = 0;
  private readonly enabled: boolean;
  private readonly started = Date.now();

  constructor(
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = stream.isTTY === true;
  }

  update(done: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (done < this.total && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const width = 30;
    const filled = Math.round((done / this.total) * width);
    const elapsed = (now - this.started) / 1000;
    const rate = elapsed > 0 ? Math.round(done / elapsed) : 0;
    this.stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total}  ${rate}/s `);
  }

  finish(): void {
    if (this.enabled) this.stream.write('\n');
  }
}
