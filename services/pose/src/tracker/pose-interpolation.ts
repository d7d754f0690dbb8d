import { mat3Multiply, mat3Transpose } from '../geometry/mat3';
import { quatFromRotation, quatSlerp, rotationFromQuat } from '../geometry/quaternion';
import { rotationFromVector, vectorFromRotation } from '../geometry/rotation';
import { cameraCentre, clonePose, type CameraPose } from './camera-model';

function poseFromCentre(rotation: Float64Array, centre: ArrayLike<number>): CameraPose {
  const t = Float64Array.of(
    -(rotation[0] * centre[0] + rotation[1] * centre[1] + rotation[2] * centre[2]),
    -(rotation[3] * centre[0] + rotation[4] * centre[1] + rotation[5] * centre[2]),
    -(rotation[6] * centre[0] + rotation[7] * centre[1] + rotation[8] * centre[2]),
  );
  return { rotation, translation: t };
}

/**
 * A pose guess for frame f from the known poses around it: interpolated (slerp, linear centres) between
 * the nearest known frames on both sides, or extrapolated at constant velocity from the two nearest on
 * one side, or copied from the single nearest one. Null when no pose is known.
 */
export function interpolatePose(poses: readonly (CameraPose | null)[], f: number): CameraPose | null {
  if (poses[f]) return clonePose(poses[f]!);
  let before = -1;
  for (let i = f - 1; i >= 0; i--) if (poses[i]) { before = i; break; }
  let after = -1;
  for (let i = f + 1; i < poses.length; i++) if (poses[i]) { after = i; break; }
  if (before >= 0 && after >= 0) {
    const s = (f - before) / (after - before);
    const a = poses[before]!;
    const b = poses[after]!;
    const q = quatSlerp(quatFromRotation(a.rotation), quatFromRotation(b.rotation), s);
    const ca = cameraCentre(a);
    const cb = cameraCentre(b);
    return poseFromCentre(rotationFromQuat(q), [0, 1, 2].map((k) => ca[k] + s * (cb[k] - ca[k])));
  }
  const near = before >= 0 ? before : after;
  if (near < 0) return null;
  const step = before >= 0 ? -1 : 1;
  let other = -1;
  for (let i = near + step; i >= 0 && i < poses.length; i += step) if (poses[i]) { other = i; break; }
  if (other < 0) return clonePose(poses[near]!);
  // Constant velocity: the motion from `other` to `near`, scaled to reach f.
  const s = (f - near) / (near - other);
  const a = poses[other]!;
  const b = poses[near]!;
  const delta = vectorFromRotation(mat3Multiply(b.rotation, mat3Transpose(a.rotation)));
  const rotation = mat3Multiply(rotationFromVector([delta[0] * s, delta[1] * s, delta[2] * s]), b.rotation);
  const ca = cameraCentre(a);
  const cb = cameraCentre(b);
  return poseFromCentre(rotation, [0, 1, 2].map((k) => cb[k] + s * (cb[k] - ca[k])));
}
