import { mat3Multiply, mat3Transpose, rotationFromVector, type Mat3 } from '../geometry';
import type { AlignmentState, ObservationSide } from './alignment-state';
import { factorEnvelopeCholesky, solveEnvelopeCholesky, solveWithFactor, type EnvelopeFactor } from './envelope-cholesky';
import type { SideMoments } from './side-moments';

/** Local parameter order of one side: frame (ω 0–2, t 3–5), pair (ω 6–8, log-scale 9, t 10–12). */
const L = 13;

function cross(x: Float64Array): [number, number, number] {
  // Σ a × b from X = Σ a bᵀ.
  return [x[5] - x[7], x[6] - x[2], x[1] - x[3]];
}

function setSkew(h: Float64Array, row: number, col: number, v: ArrayLike<number>, sign: number): void {
  // Writes sign·[v]ₓ into the 3x3 block at (row, col) of a 13x13 matrix.
  h[row * L + col + 1] += -sign * v[2];
  h[row * L + col + 2] += sign * v[1];
  h[(row + 1) * L + col] += sign * v[2];
  h[(row + 1) * L + col + 2] += -sign * v[0];
  h[(row + 2) * L + col] += -sign * v[1];
  h[(row + 2) * L + col + 1] += sign * v[0];
}

/**
 * Gauss-Newton normal equations (upper triangle plus symmetric fill) of Σ ω |a + t − b − t'|² for one
 * side, from its moments: a = R c (frame), b = s R' P (pair); perturbations R ← exp(ω)R, t += δt,
 * R' ← exp(ω')R', s ← s·e^σ, t' += δt'.
 */
function linearise(m: SideMoments, r: Mat3, t: Float64Array, s: number, re: Mat3, te: Float64Array) {
  const rt = mat3Transpose(r);
  const ret = mat3Transpose(re);
  const a = [0, 1, 2].map((k) => r[k * 3] * m.sumC[0] + r[k * 3 + 1] * m.sumC[1] + r[k * 3 + 2] * m.sumC[2]);
  const b = [0, 1, 2].map((k) => s * (re[k * 3] * m.sumP[0] + re[k * 3 + 1] * m.sumP[1] + re[k * 3 + 2] * m.sumP[2]));
  const A = mat3Multiply(mat3Multiply(r, m.cc), rt);
  const B = mat3Multiply(mat3Multiply(re, m.pp), ret).map((v) => v * s * s);
  const X = mat3Multiply(mat3Multiply(r, m.cp), ret).map((v) => v * s);
  const tau = [t[0] - te[0], t[1] - te[1], t[2] - te[2]];
  const W = m.weight;
  const trA = A[0] + A[4] + A[8];
  const trB = B[0] + B[4] + B[8];
  const trX = X[0] + X[4] + X[8];
  const h = new Float64Array(L * L);
  const put = (i: number, j: number, v: number): void => {
    h[i * L + j] += v;
  };
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      const id = i === j ? 1 : 0;
      put(i, j, trA * id - A[i * 3 + j]); // ωn,ωn
      put(i, 6 + j, X[j * 3 + i] - trX * id); // ωn,ωe: Xᵀ − tr(X) I
      put(6 + i, 6 + j, trB * id - B[i * 3 + j]); // ωe,ωe
    }
    put(3 + i, 3 + i, W); // tn,tn
    put(3 + i, 10 + i, -W); // tn,te
    put(10 + i, 10 + i, W); // te,te
    put(3 + i, 9, -b[i]); // tn,σ
    put(9, 10 + i, b[i]); // σ,te
  }
  setSkew(h, 0, 3, a, 1); // ωn,tn: [ā]ₓ
  setSkew(h, 0, 10, a, -1); // ωn,te: −[ā]ₓ
  setSkew(h, 3, 6, b, 1); // tn,ωe: [b̄]ₓ
  setSkew(h, 6, 10, b, 1); // ωe,te: [b̄]ₓ
  const cx = cross(X);
  for (let i = 0; i < 3; i++) put(i, 9, -cx[i]); // ωn,σ
  put(9, 9, trB);
  for (let i = 0; i < L; i++) for (let j = 0; j < i; j++) h[i * L + j] = h[j * L + i];

  const g = new Float64Array(L);
  const d = [a[0] - b[0] + W * tau[0], a[1] - b[1] + W * tau[1], a[2] - b[2] + W * tau[2]];
  const axt = [a[1] * tau[2] - a[2] * tau[1], a[2] * tau[0] - a[0] * tau[2], a[0] * tau[1] - a[1] * tau[0]];
  const bxt = [b[1] * tau[2] - b[2] * tau[1], b[2] * tau[0] - b[0] * tau[2], b[0] * tau[1] - b[1] * tau[0]];
  for (let i = 0; i < 3; i++) {
    g[i] = -cx[i] + axt[i];
    g[3 + i] = d[i];
    g[6 + i] = cx[i] - bxt[i];
    g[10 + i] = -d[i];
  }
  g[9] = -trX + trB - (b[0] * tau[0] + b[1] * tau[1] + b[2] * tau[2]);
  return { h, g };
}

/** Σ ω |R c + t − s R' P − t'|² of one side from its moments (the cost term of `linearise`, without allocations). */
function sideCost(m: SideMoments, r: Mat3, t: Float64Array, s: number, re: Mat3, te: Float64Array): number {
  // tr(A) = tr(Ccc), tr(B) = s² tr(Cpp), tr(X) = s tr(R Ccp R'ᵀ) = s Σ_ij (RᵀR')_ij Ccp_ij.
  let trX = 0;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      const rij = r[i] * re[j] + r[3 + i] * re[3 + j] + r[6 + i] * re[6 + j];
      trX += rij * m.cp[i * 3 + j];
    }
  }
  trX *= s;
  let cross = 0;
  let tau2 = 0;
  for (let k = 0; k < 3; k++) {
    const tau = t[k] - te[k];
    const a = r[k * 3] * m.sumC[0] + r[k * 3 + 1] * m.sumC[1] + r[k * 3 + 2] * m.sumC[2];
    const b = s * (re[k * 3] * m.sumP[0] + re[k * 3 + 1] * m.sumP[1] + re[k * 3 + 2] * m.sumP[2]);
    cross += tau * (a - b);
    tau2 += tau * tau;
  }
  const trA = m.cc[0] + m.cc[4] + m.cc[8];
  const trB = s * s * (m.pp[0] + m.pp[4] + m.pp[8]);
  return trA + trB - 2 * trX + 2 * cross + m.weight * tau2;
}

function totalCost(state: AlignmentState, sides: readonly ObservationSide[], moments: readonly SideMoments[]): number {
  let cost = 0;
  for (let i = 0; i < sides.length; i++) {
    const { edge: e, frame: n } = sides[i];
    cost += sideCost(moments[i], state.rotation[n], state.translation[n], state.edgeScale[e], state.edgeRotation[e], state.edgeTranslation[e]);
  }
  return cost;
}

/** Solves M X = RHS for a small SPD M (7x7 pair blocks) and a row-major n×cols right-hand side. */
function solveColumns(factor: EnvelopeFactor, rhs: Float64Array, cols: number): Float64Array {
  const n = factor.n;
  const out = new Float64Array(n * cols);
  const b = new Float64Array(n);
  for (let c = 0; c < cols; c++) {
    for (let i = 0; i < n; i++) b[i] = rhs[i * cols + c];
    const x = solveWithFactor(factor, b);
    for (let i = 0; i < n; i++) out[i * cols + c] = x[i];
  }
  return out;
}

export interface GlobalStepOptions {
  /** Levenberg-Marquardt iterations. */
  iterations: number;
  /** Frame whose pose stays fixed (the gauge). */
  anchorFrame: number;
}

/**
 * One global step of the alignment with depths and focals held: Levenberg-Marquardt on every frame pose and
 * every pair similarity at once, minimising the reweighted objective Σ ω |X − (sRP + t)|² (from the sides'
 * moments under the weights ω). Pair blocks are
 * eliminated (Schur complement), leaving a 6N×6N system whose envelope follows the scene graph. Returns the
 * reweighted cost after the step.
 */
export function globalStep(state: AlignmentState, sides: readonly ObservationSide[], moments: readonly SideMoments[], options: GlobalStepOptions): number {
  const frames = state.grids.length;
  const edges = state.observations.length;
  const N = 6 * frames;
  let lambda = 1e-4;
  let cost = totalCost(state, sides, moments);
  for (let iter = 0; iter < options.iterations; iter++) {
    const hff = new Float64Array(N * N);
    const gf = new Float64Array(N);
    const hee = Array.from({ length: edges }, () => new Float64Array(49));
    const ge = Array.from({ length: edges }, () => new Float64Array(7));
    // Cross blocks pair ↔ frame: for each pair, its two sides' 7x6 blocks (pair rows, frame columns).
    const hef = Array.from({ length: edges }, () => [] as Array<{ frame: number; block: Float64Array }>);
    sides.forEach((side, i) => {
      const e = side.edge;
      const n = side.frame;
      const { h, g } = linearise(moments[i], state.rotation[n], state.translation[n], state.edgeScale[e], state.edgeRotation[e], state.edgeTranslation[e]);
      const block = new Float64Array(42);
      for (let r = 0; r < 6; r++) {
        gf[6 * n + r] += g[r];
        for (let c = 0; c < 6; c++) hff[(6 * n + r) * N + 6 * n + c] += h[r * L + c];
      }
      for (let r = 0; r < 7; r++) {
        ge[e][r] += g[6 + r];
        for (let c = 0; c < 7; c++) hee[e][r * 7 + c] += h[(6 + r) * L + 6 + c];
        for (let c = 0; c < 6; c++) block[r * 6 + c] = h[(6 + r) * L + c];
      }
      hef[e].push({ frame: n, block });
    });

    let accepted = false;
    for (let attempt = 0; attempt < 8 && !accepted; attempt++) {
      const s = Float64Array.from(hff);
      const rhs = Float64Array.from(gf);
      const pairSolves: Array<{ minvG: Float64Array; minvH: Float64Array[] } | undefined> = [];
      let failed = false;
      for (let e = 0; e < edges && !failed; e++) {
        const m = Float64Array.from(hee[e]);
        for (let i = 0; i < 7; i++) m[i * 7 + i] += lambda * m[i * 7 + i] + 1e-12;
        const factor = factorEnvelopeCholesky(m, 7);
        if (!factor) {
          failed = true;
          break;
        }
        const minvG = solveWithFactor(factor, ge[e]);
        const minvH = hef[e].map(({ block }) => solveColumns(factor, block, 6));
        pairSolves.push({ minvG, minvH });
        // S −= Hfe M⁻¹ Hef; rhs −= Hfe M⁻¹ ge.
        hef[e].forEach(({ frame: a, block: ba }) => {
          for (let r = 0; r < 6; r++) {
            let acc = 0;
            for (let k = 0; k < 7; k++) acc += ba[k * 6 + r] * minvG[k];
            rhs[6 * a + r] -= acc;
          }
          hef[e].forEach(({ frame: b }, jb) => {
            const mb = minvH[jb];
            for (let r = 0; r < 6; r++) {
              for (let c = 0; c < 6; c++) {
                let acc = 0;
                for (let k = 0; k < 7; k++) acc += ba[k * 6 + r] * mb[k * 6 + c];
                s[(6 * a + r) * N + 6 * b + c] -= acc;
              }
            }
          });
        });
      }
      if (failed) {
        lambda *= 10;
        continue;
      }
      for (let i = 0; i < N; i++) s[i * N + i] += lambda * hff[i * N + i] + 1e-12;
      const anchor = 6 * options.anchorFrame;
      for (let r = anchor; r < anchor + 6; r++) {
        for (let c = 0; c < N; c++) s[r * N + c] = s[c * N + r] = 0;
        s[r * N + r] = 1;
        rhs[r] = 0;
      }
      for (let i = 0; i < N; i++) rhs[i] = -rhs[i];
      const dFrames = solveEnvelopeCholesky(s, rhs, N);
      if (!dFrames) {
        lambda *= 10;
        continue;
      }
      const saved = {
        rotation: state.rotation.slice(),
        translation: state.translation.slice(),
        edgeScale: Float64Array.from(state.edgeScale),
        edgeRotation: state.edgeRotation.slice(),
        edgeTranslation: state.edgeTranslation.slice(),
      };
      for (let n = 0; n < frames; n++) {
        const d = dFrames.subarray(6 * n, 6 * n + 6);
        state.rotation[n] = mat3Multiply(rotationFromVector([d[0], d[1], d[2]]), state.rotation[n]);
        const t = state.translation[n];
        state.translation[n] = Float64Array.of(t[0] + d[3], t[1] + d[4], t[2] + d[5]);
      }
      for (let e = 0; e < edges; e++) {
        const { minvG, minvH } = pairSolves[e]!;
        const de = new Float64Array(7);
        for (let r = 0; r < 7; r++) {
          let acc = minvG[r];
          hef[e].forEach(({ frame }, jb) => {
            for (let c = 0; c < 6; c++) acc += minvH[jb][r * 6 + c] * dFrames[6 * frame + c];
          });
          de[r] = -acc;
        }
        state.edgeRotation[e] = mat3Multiply(rotationFromVector([de[0], de[1], de[2]]), state.edgeRotation[e]);
        state.edgeScale[e] *= Math.exp(de[3]);
        const t = state.edgeTranslation[e];
        state.edgeTranslation[e] = Float64Array.of(t[0] + de[4], t[1] + de[5], t[2] + de[6]);
      }
      const next = totalCost(state, sides, moments);
      if (next < cost) {
        cost = next;
        lambda = Math.max(lambda / 4, 1e-9);
        accepted = true;
      } else {
        Object.assign(state, saved);
        lambda *= 10;
      }
    }
    if (!accepted) break;
  }
  return cost;
}
