import type { Client, ClientDuplexStream } from '@grpc/grpc-js';
import type { Frame } from '@vanelia/proto';
import { VaneliaError, releaseFrames, retainFrames, silentLogger, type Logger } from '@vanelia/runtime';
import { batchRetries, batchRoundtrip, countStageError, gatewayQueueDepth, stageStreams, type MetricStage } from './metrics';
import type { Replica, StageReplicas } from './replicas/stage-replicas';
import { stageFailure, statusNameOf } from './stage-errors';

export interface BatchDispatchOptions<C extends Client, B, Req, Res> {
  /** Metric label of the step ("composite", "inpaint"). */
  stage: MetricStage;
  replicas: StageReplicas<C>;
  /** Opens the stage's bidi call on a replica (the caller sets deadline and metadata). */
  open: (client: C) => ClientDuplexStream<Req, Res>;
  /** First message of every call: the job's config. */
  first: Req;
  request: (batch: B) => Req;
  batchIdOf: (batch: B) => string;
  /** The batch id an answer carries (answers come in order on each call, and are checked). */
  answerIdOf: (answer: Res) => string;
  /**
   * The frames of a batch: held in the frame memory (not copied) until the batch is answered, so it can
   * be sent again to another replica.
   */
  framesOf?: (batch: B) => Array<Frame | undefined>;
  /** Calls a replica gets for one job at most. */
  streamsPerReplica?: number;
  /** Batches sent on one call and not yet answered, at most (the next one travels while one is worked on). */
  inFlightPerStream?: number;
  /** Times a batch is sent before the job fails. */
  maxAttempts?: number;
  /** Longest wait for the answer to a batch once it is the oldest on its call; then it goes elsewhere. */
  batchTimeoutMs?: number;
  /** Consecutive batches that must go to one call together (state carried between frames, e.g. refine's frame interval). */
  groupSize?: number;
  /** Longest wait for a serving replica while no call is open. */
  replicaWaitMs?: number;
  signal?: AbortSignal;
  logger?: Logger;
}

export const BATCH_DISPATCH_DEFAULTS = {
  framesOf: (): Frame[] => [],
  streamsPerReplica: 1,
  inFlightPerStream: 2,
  maxAttempts: 4,
  batchTimeoutMs: 10 * 60_000,
  groupSize: 1,
  replicaWaitMs: 5 * 60_000,
};

interface Item<B, Res> {
  seq: number;
  batches: B[];
  answers: Res[];
  attempts: number;
  done: boolean;
  sentAtMs: number;
}

/** One open call on one replica, carrying some of a job's batches. */
class SubStream<C extends Client, B, Req, Res> {
  readonly call: ClientDuplexStream<Req, Res>;
  outstanding: Array<Item<B, Res>> = [];
  ending = false;
  dead = false;
  readonly closed: Promise<void>;
  private timer: NodeJS.Timeout | undefined;
  private readonly release: () => void;
  private markClosed!: () => void;

  constructor(
    readonly replica: Replica<C>,
    private readonly owner: Dispatch<C, B, Req, Res>,
  ) {
    const o = owner.o;
    this.release = o.replicas.acquire(replica);
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
    this.call = o.open(replica.client);
    stageStreams.inc({ stage: o.stage });
    this.call.on('data', (answer: Res) => owner.onAnswer(this, answer));
    this.call.on('error', (error: unknown) => owner.onStreamError(this, error));
    this.call.on('end', () => owner.onStreamEnd(this));
    this.call.write(o.first);
  }

  send(item: Item<B, Res>): void {
    item.sentAtMs = performance.now();
    this.outstanding.push(item);
    for (const batch of item.batches) this.call.write(this.owner.o.request(batch));
    if (this.outstanding.length === 1) this.restartTimer();
  }

  /** Times the oldest unanswered item from now. */
  restartTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const head = this.outstanding[0];
    if (!head || this.dead) return;
    const o = this.owner.o;
    const ms = o.batchTimeoutMs * head.batches.length;
    this.timer = setTimeout(() => {
      const id = o.batchIdOf(head.batches[head.answers.length] ?? head.batches[0]);
      this.owner.onStreamError(
        this,
        new VaneliaError(this.owner.service, 'BATCH_TIMEOUT', `no answer for batch ${id} from ${this.replica.address} within ${Math.round(ms / 1000)} s.`, {
          code: 'DEADLINE_EXCEEDED',
          retryable: true,
        }),
      );
    }, ms);
  }

  /** No more batches: the replica ends the call once it has answered. */
  end(): void {
    if (this.ending || this.dead) return;
    this.ending = true;
    this.call.end();
  }

  /** Closes the call (cancelling it unless it ended), and gives the replica back. */
  finish(cancel: boolean): void {
    if (this.dead) return;
    this.dead = true;
    if (this.timer) clearTimeout(this.timer);
    if (cancel) this.call.cancel();
    this.release();
    stageStreams.dec({ stage: this.owner.o.stage });
    this.markClosed();
  }
}

/**
 * One job's pass through one stage, spread per batch over every replica: a call per replica (or more),
 * each with a few batches in flight; answers come back in input order. A call that fails (replica gone,
 * deadline missed, stream cut) sends its unanswered batches to another call with the same batch ids;
 * a bad input fails at once. At most a window of batches is held, so memory does not grow with the video.
 */
class Dispatch<C extends Client, B, Req, Res> {
  readonly o: Required<Omit<BatchDispatchOptions<C, B, Req, Res>, 'signal' | 'logger'>> & Pick<BatchDispatchOptions<C, B, Req, Res>, 'signal'>;
  readonly service: 'compositor' | 'inpaint' | 'decoder' | 'pose';
  private readonly logger: Logger;
  private readonly streams = new Set<SubStream<C, B, Req, Res>>();
  private readonly items = new Map<number, Item<B, Res>>();
  private pending: Array<Item<B, Res>> = [];
  private nextSeq = 0;
  private nextYield = 0;
  private inputDone = false;
  private fatal: unknown;
  private closing = false;
  private reportedQueue = 0;
  private wakeMain: (() => void) | undefined;
  private wakeRoom: (() => void) | undefined;

  constructor(options: BatchDispatchOptions<C, B, Req, Res>) {
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.o = { ...BATCH_DISPATCH_DEFAULTS, ...defined } as unknown as Dispatch<C, B, Req, Res>['o'];
    this.service = options.replicas.service;
    this.logger = options.logger ?? silentLogger;
  }

  async *run(input: AsyncIterable<B>): AsyncGenerator<Res> {
    const onAbort = (): void => this.setFatal(new VaneliaError('gateway', 'CANCELLED', 'the job was cancelled.', { code: 'CANCELLED' }));
    this.o.signal?.addEventListener('abort', onAbort, { once: true });
    if (this.o.signal?.aborted) onAbort();
    const reader = this.read(input);
    // A replica joining, leaving or changing health may let pending batches go, or end a draining call.
    const unsubscribe = this.o.replicas.subscribe(() => {
      this.schedule();
      this.wakeMain?.();
    });
    let completed = false;
    let waitingSinceMs = performance.now();
    try {
      for (;;) {
        if (this.fatal) throw this.fatal;
        const item = this.items.get(this.nextYield);
        if (item?.done) {
          this.items.delete(this.nextYield);
          this.nextYield += 1;
          this.wakeRoom?.();
          for (const answer of item.answers) yield answer;
          continue;
        }
        if (this.inputDone && this.nextYield === this.nextSeq) break;
        this.schedule();
        if (this.streams.size > 0 || this.pending.length === 0) waitingSinceMs = performance.now();
        else if (performance.now() - waitingSinceMs > this.o.replicaWaitMs) {
          throw new VaneliaError(this.service, 'NO_REPLICA', `no ${this.service} replica took batches for ${Math.round(this.o.replicaWaitMs / 1000)} s.`, {
            code: 'UNAVAILABLE',
            retryable: true,
          });
        }
        await new Promise<void>((resolve) => {
          this.wakeMain = resolve;
          // While nothing is open, look again now and then (a replica may come back without telling).
          if (this.streams.size === 0) setTimeout(resolve, 1000);
        });
      }
      completed = true;
      await this.closeAll();
    } finally {
      this.closing = true;
      unsubscribe();
      this.o.signal?.removeEventListener('abort', onAbort);
      if (!completed) for (const stream of [...this.streams]) stream.finish(true);
      for (const item of this.items.values()) this.release(item);
      this.pending = [];
      this.reportQueue();
      this.wakeRoom?.();
      // After a failure the reader may wait on an upstream that the job's abort stops; do not wait for it.
      if (completed) await reader;
    }
  }

  /** The item's frames are not needed any more (answered, or the job is over). */
  private release(item: Item<B, Res>): void {
    for (const batch of item.batches) releaseFrames(this.o.framesOf(batch));
  }

  /** Pulls input while the window has room: `groupSize` batches an item. */
  private async read(input: AsyncIterable<B>): Promise<void> {
    try {
      let group: B[] = [];
      for await (const batch of input) {
        if (this.closing || this.fatal) return;
        group.push(batch);
        if (group.length < this.o.groupSize) continue;
        await this.admit(group);
        group = [];
      }
      if (group.length > 0) await this.admit(group);
      this.inputDone = true;
    } catch (error) {
      // An upstream stage failed: that is the job's error.
      this.setFatal(error);
    } finally {
      this.wakeMain?.();
    }
  }

  private window(): number {
    const serving = Math.max(1, this.o.replicas.list().filter((r) => r.serving).length);
    return (serving * this.o.streamsPerReplica + 1) * this.o.inFlightPerStream;
  }

  private async admit(batches: B[]): Promise<void> {
    while (this.nextSeq - this.nextYield >= this.window() && !this.closing && !this.fatal) {
      await new Promise<void>((resolve) => {
        this.wakeRoom = resolve;
        setTimeout(resolve, 1000); // the window grows when replicas join
      });
    }
    const item: Item<B, Res> = { seq: this.nextSeq++, batches, answers: [], attempts: 0, done: false, sentAtMs: 0 };
    if (this.closing || this.fatal) return this.release(item);
    for (const batch of batches) retainFrames(this.o.framesOf(batch));
    this.items.set(item.seq, item);
    this.pending.push(item);
    this.schedule();
    this.wakeMain?.();
  }

  private setFatal(error: unknown): void {
    if (this.fatal === undefined) this.fatal = error;
    this.wakeMain?.();
    this.wakeRoom?.();
  }

  private servingElsewhere(stream: SubStream<C, B, Req, Res>): boolean {
    return this.o.replicas.list().some((r) => r.serving && r.address !== stream.replica.address);
  }

  /** Sends pending items to calls with room, opening calls on free replicas; ends calls on draining replicas. */
  private schedule(): void {
    if (this.fatal || this.closing) return;
    for (const stream of this.streams) {
      if (!stream.replica.serving && stream.outstanding.length === 0 && this.servingElsewhere(stream)) stream.end();
    }
    while (this.pending.length > 0) {
      const stream = this.streamForNext();
      if (!stream) break;
      stream.send(this.pending.shift()!);
    }
    this.reportQueue();
  }

  private streamForNext(): SubStream<C, B, Req, Res> | undefined {
    const open = [...this.streams].filter((s) => !s.ending && !s.dead && s.outstanding.length < this.o.inFlightPerStream);
    const byLoad = (a: SubStream<C, B, Req, Res>, b: SubStream<C, B, Req, Res>): number => a.outstanding.length - b.outstanding.length;
    const onServing = open.filter((s) => s.replica.serving).sort(byLoad);
    if (onServing[0]?.outstanding.length === 0) return onServing[0];
    const opened = this.tryOpen();
    if (opened) return opened;
    if (onServing[0]) return onServing[0];
    // No serving replica can take it: a draining one still finishes the calls it has.
    if (this.o.replicas.list().some((r) => r.serving)) return undefined;
    return open.sort(byLoad)[0];
  }

  private tryOpen(): SubStream<C, B, Req, Res> | undefined {
    const perReplica = new Map<string, number>();
    for (const s of this.streams) if (!s.dead) perReplica.set(s.replica.address, (perReplica.get(s.replica.address) ?? 0) + 1);
    const full = new Set([...perReplica].filter(([, n]) => n >= this.o.streamsPerReplica).map(([a]) => a));
    const replica = this.o.replicas.tryPick(full);
    if (!replica) return undefined;
    const stream = new SubStream(replica, this);
    this.streams.add(stream);
    return stream;
  }

  onAnswer(stream: SubStream<C, B, Req, Res>, answer: Res): void {
    if (stream.dead) return;
    const head = stream.outstanding[0];
    const expected = head ? this.o.batchIdOf(head.batches[head.answers.length]) : '(none)';
    const got = this.o.answerIdOf(answer);
    if (!head || got !== expected) {
      stream.finish(true);
      this.streams.delete(stream);
      this.setFatal(new VaneliaError(this.service, 'PROTOCOL', `${stream.replica.address} answered batch ${got} where ${expected} was expected.`, { code: 'INTERNAL' }));
      return;
    }
    head.answers.push(answer);
    if (head.answers.length === head.batches.length) {
      head.done = true;
      this.release(head);
      stream.outstanding.shift();
      batchRoundtrip.observe({ stage: this.o.stage }, (performance.now() - head.sentAtMs) / 1000);
      this.wakeMain?.();
    }
    stream.restartTimer();
    this.schedule();
  }

  onStreamError(stream: SubStream<C, B, Req, Res>, error: unknown): void {
    if (stream.dead) return;
    stream.finish(true);
    this.streams.delete(stream);
    if (this.closing || this.fatal !== undefined) return;
    if (this.o.signal?.aborted) return;
    countStageError(this.o.stage, statusNameOf(error));
    const failure = stageFailure(error, this.service);
    if (!failure.retryable) {
      this.setFatal(failure);
      return;
    }
    this.o.replicas.markFailed(stream.replica);
    const lost = stream.outstanding;
    stream.outstanding = [];
    for (const item of lost) {
      item.attempts += 1;
      item.answers = [];
      if (item.attempts >= this.o.maxAttempts) {
        const id = this.o.batchIdOf(item.batches[0]);
        this.setFatal(new VaneliaError(failure.stage, failure.reason, `batch ${id} failed ${item.attempts} times; last: ${failure.message.slice(failure.stage.length + 2)}`, { code: failure.code, retryable: true, cause: error }));
        return;
      }
      batchRetries.inc({ stage: this.o.stage }, item.batches.length);
    }
    if (lost.length > 0) {
      this.logger.warn('stage call failed; its batches go to another call', { stage: this.o.stage, replica: stream.replica.address, batches: lost.length, error: failure.message });
    }
    this.pending = [...lost, ...this.pending].sort((a, b) => a.seq - b.seq);
    this.schedule();
    this.wakeMain?.();
  }

  onStreamEnd(stream: SubStream<C, B, Req, Res>): void {
    if (stream.dead) return;
    if (stream.outstanding.length > 0) {
      this.onStreamError(stream, new VaneliaError(this.service, 'STREAM_ENDED', `${stream.replica.address} ended the call with ${stream.outstanding.length} batches unanswered.`, { code: 'UNAVAILABLE', retryable: true }));
      return;
    }
    stream.finish(false);
    this.streams.delete(stream);
    this.schedule();
    this.wakeMain?.();
  }

  /** Every batch answered: end the calls and wait for their status (bounded). */
  private async closeAll(): Promise<void> {
    const streams = [...this.streams];
    for (const stream of streams) stream.end();
    await Promise.race([Promise.all(streams.map((s) => s.closed)), new Promise((resolve) => setTimeout(resolve, 30_000).unref())]);
  }

  private reportQueue(): void {
    const now = this.pending.reduce((n, item) => n + item.batches.length, 0);
    if (now > this.reportedQueue) gatewayQueueDepth.inc(this.o.stage, now - this.reportedQueue);
    else if (now < this.reportedQueue) gatewayQueueDepth.dec(this.o.stage, this.reportedQueue - now);
    this.reportedQueue = now;
  }
}

/** Sends `input`'s batches through a stage spread over its replicas; yields the answers in input order. */
export function dispatchBatches<C extends Client, B, Req, Res>(input: AsyncIterable<B>, options: BatchDispatchOptions<C, B, Req, Res>): AsyncGenerator<Res> {
  return new Dispatch(options).run(input);
}
