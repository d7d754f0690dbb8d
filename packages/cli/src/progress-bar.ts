import { JobState, type JobEvent } from '@vanelia/proto';

/** Renders job events as one updating line on a TTY, or a line per stage change otherwise. */
export class ProgressBar {
  private lastLine = '';
  constructor(private readonly out: NodeJS.WriteStream = process.stderr, private readonly width = 30) {}

  update(event: JobEvent): void {
    const total = event.framesTotal || 0;
    const ratio = total > 0 ? Math.min(1, event.framesDone / total) : 0;
    const filled = Math.round(ratio * this.width);
    const bar = '#'.repeat(filled) + '-'.repeat(this.width - filled);
    const eta = event.etaS >= 0 && event.state === JobState.JOB_STATE_RUNNING ? ` eta ${Math.ceil(event.etaS)}s` : '';
    const rate = event.framesPerS > 0 ? ` ${event.framesPerS.toFixed(1)} f/s` : '';
    const state = JobState[event.state].replace('JOB_STATE_', '').toLowerCase();
    const line = `[${bar}] ${event.framesDone}/${total} ${state}:${event.stage}${rate}${eta}`;
    if (this.out.isTTY) {
      this.out.write(`\r${line.padEnd(this.lastLine.length)}`);
    } else if (line.split(' ')[2] !== this.lastLine.split(' ')[2] || event.state !== JobState.JOB_STATE_RUNNING) {
      this.out.write(`${line}\n`);
    }
    this.lastLine = line;
  }

  done(): void {
    if (this.out.isTTY) this.out.write('\n');
  }
}
