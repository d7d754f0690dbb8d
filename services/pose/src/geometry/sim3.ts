import { mat3Multiply, type Mat3 } from './mat3';
import { mat4FromRotationTranslation, mat4Rotation, mat4Translation, type Mat4 } from './mat4';
import { procrustes, type ProcrustesResult, type SimilarityTransform } from './procrustes';
import { vec3, type Vec3, type Vec3Like } from './vec3';

/** A similarity transform of world coordinates: x ↦ s R x + t. */
export type Sim3 = SimilarityTransform;

export function sim3Identity(): Sim3 {
  return { scale: 1, rotation: Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1), translation: vec3() };
}

export function sim3ApplyToPoint(sim: Sim3, p: Vec3Like): Vec3 {
  const r: Mat3 = sim.rotation;
  return vec3(
    sim.scale * (r[0] * p[0] + r[1] * p[1] + r[2] * p[2]) + sim.translation[0],
    sim.scale * (r[3] * p[0] + r[4] * p[1] + r[5] * p[2]) + sim.translation[1],
    sim.scale * (r[6] * p[0] + r[7] * p[1] + r[8] * p[2]) + sim.translation[2],
  );
}

/**
 * Moves a camera-to-world pose into the transformed world: the orientation rotates by R and the centre
 * maps through the similarity; the result stays rigid (the scale goes into positions only).
 */
export function sim3ApplyToCameraToWorld(sim: Sim3, cameraToWorld: Mat4): Mat4 {
  const rotation = mat3Multiply(sim.rotation, mat4Rotation(cameraToWorld));
  return mat4FromRotationTranslation(rotation, sim3ApplyToPoint(sim, mat4Translation(cameraToWorld)));
}

/** Camera centres (packed xyz) of camera-to-world poses. */
export function cameraCentres(camerasToWorld: readonly Mat4[]): Float64Array {
  const out = new Float64Array(camerasToWorld.length * 3);
  camerasToWorld.forEach((m, i) => out.set(mat4Translation(m), 3 * i));
  return out;
}

/**
 * The similarity that best maps the estimated trajectory's camera centres onto the reference ones
 * (Umeyama, least squares over centres). Needs 3 non-collinear centres, or 2 with `withScale` and a
 * rotation left undetermined about their line — use at least 3 for evaluation.
 */
export function alignTrajectorySim3(estimated: readonly Mat4[], reference: readonly Mat4[], withScale = true): ProcrustesResult {
  if (estimated.length !== reference.length) {
    throw new RangeError(`alignTrajectorySim3: ${estimated.length} estimated vs ${reference.length} reference poses`);
  }
  return procrustes(cameraCentres(estimated), cameraCentres(reference), { withScale });
}
