/** A scheduler by name. */
import { Ddim } from './ddim';
import { DpmSolverMultistep } from './dpm-solver';
import type { Scheduler, SchedulerSettings } from './scheduler';

export function createScheduler(settings: SchedulerSettings): Scheduler {
  return settings.name === 'ddim'
    ? new Ddim(settings.steps, settings.strength)
    : new DpmSolverMultistep(settings.steps, settings.strength);
}
