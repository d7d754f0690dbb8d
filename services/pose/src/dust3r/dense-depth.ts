import type { AlignmentState } from './alignment-state';
import type { PairPrediction } from './pair-observations';

/** Per frame, the most confident full-resolution view-1 pointmap seen, kept for the dense depth map. */
export class BestViewKeeper {
  private readonly best = new Map<number, { edge: number; score: number; pts: Float32Array; conf: Float32Array }>();

  /** Offers a pair's view-1 output (pair `edge` of the alignment); copies it when it beats the frame's best. */
  offer(edge: number, prediction: PairPrediction, score: number): void {
    const current = this.best.get(prediction.first);
    if (current && current.score >= score) return;
    this.best.set(prediction.first, { edge, score, pts: Float32Array.from(prediction.pts1), conf: Float32Array.from(prediction.conf1) });
  }

  /** Median confidence of the frame's kept pointmap (1 when none). */
  medianConfidence(frame: number): number {
    const kept = this.best.get(frame);
    if (!kept || kept.conf.length === 0) return 1;
    const sorted = Float32Array.from(kept.conf).sort();
    return sorted[sorted.length >> 1];
  }

  /**
   * Dense depth (along the camera's +z, world units) of `frame` at the model's size: its kept pointmap
   * carried into the world by its pair's optimised similarity, then into the frame's optimised camera.
   */
  depth(frame: number, state: AlignmentState): Float32Array | undefined {
    const kept = this.best.get(frame);
    if (!kept) return undefined;
    const s = state.edgeScale[kept.edge];
    const re = state.edgeRotation[kept.edge];
    const te = state.edgeTranslation[kept.edge];
    const r = state.rotation[frame];
    const t = state.translation[frame];
    // Camera z axis in the world is R's third column; depth = r₃ · (s R' P + t' − t).
    const zx = r[2];
    const zy = r[5];
    const zz = r[8];
    const a = [0, 1, 2].map((c) => s * (zx * re[c] + zy * re[3 + c] + zz * re[6 + c]));
    const b = zx * (te[0] - t[0]) + zy * (te[1] - t[1]) + zz * (te[2] - t[2]);
    const n = kept.conf.length;
    const out = new Float32Array(n);
    const p = kept.pts;
    for (let i = 0; i < n; i++) out[i] = Math.max(a[0] * p[3 * i] + a[1] * p[3 * i + 1] + a[2] * p[3 * i + 2] + b, 0);
    return out;
  }
}
