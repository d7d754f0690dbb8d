import { JobState, type JobEvent } from '@vanelia/proto';

const stateName = (state: JobState): string => (JobState[state] ?? 'UNKNOWN').replace('JOB_STATE_', '').toLowerCase();

/** "1:05" / "12s" for a duration in seconds. */
export function formatEta(seconds: number): string {
  if (seconds < 0 || !Number.isFinite(seconds)) return '';
  const s = Math.ceil(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}` : `${s}s`;
}

/** One line for a job event: bar of final frames, state and stage, rate, time left, each stage's count. */
export function progressLine(event: JobEvent, width = 30): string {
  const total = event.framesTotal || 0;
  const ratio = total > 0 ? Math.min(1, event.framesDone / total) : 0;
  const filled = Math.round(ratio * width);
  const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
  const running = event.state === JobState.JOB_STATE_RUNNING;
  const rate = running && event.framesPerS > 0 ? ` ${event.framesPerS.toFixed(1)} f/s` : '';
  const eta = running && event.etaS >= 0 ? ` eta ${formatEta(event.etaS)}` : '';
  const stages = event.stages.length > 0 ? `  (${event.stages.map((s) => `${s.stage} ${s.framesDone}`).join(' · ')})` : '';
  const attempt = event.attempts > 1 ? ` attempt ${event.attempts}` : '';
  return `[${bar}] ${event.framesDone}/${total} ${stateName(event.state)}:${event.stage}${rate}${eta}${attempt}${stages}`;
}

/** Renders job events as one updating line on a TTY, or a line per change of stage or state otherwise. */
export class ProgressBar {
  private lastLine = '';
  private lastKey = '';
  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly width = 30,
  ) {}

  update(event: JobEvent): void {
    const line = progressLine(event, this.width);
    if (this.out.isTTY) {
      const columns = this.out.columns || 120;
      const shown = line.length > columns - 1 ? line.slice(0, columns - 1) : line;
      this.out.write(`\r${shown.padEnd(Math.min(this.lastLine.length, columns - 1))}`);
      this.lastLine = shown;
      return;
    }
    const key = `${event.state}:${event.stage}:${event.attempts}`;
    if (key !== this.lastKey) this.out.write(`${line}\n`);
    this.lastKey = key;
  }

  done(): void {
    if (this.out.isTTY && this.lastLine) this.out.write('\n');
  }
}
