import { VaneliaError } from '@vanelia/runtime';
import * as THREE from 'three/webgpu';
import { cameraCentre, type CameraPose } from './camera-model';

/** Where the product stands, in world coordinates (the camera track's). */
export interface ProductAnchor {
  /** A point on the supporting plane. */
  pointWorld: THREE.Vector3;
  /** Unit normal of the plane, pointing away from the surface (world "up"). */
  upWorld: THREE.Vector3;
  /** Metres per world unit; 0 when unknown (then one world unit is taken as one metre). */
  metresPerUnit: number;
  /** The frame the user pointed from: at yaw 0 the product faces its camera. */
  frameIndex?: number;
}

export interface PlacementOptions {
  /** Real product height in metres; 0 keeps the file's size (glTF units are metres). */
  productHeightM?: number;
  /** Rotation about the up axis, degrees (counter-clockwise seen from above). */
  productYawDeg?: number;
}

export const PLACEMENT_DEFAULTS: Required<PlacementOptions> = { productHeightM: 0, productYawDeg: 0 };

export interface Placement {
  /** Product file coordinates -> world coordinates. */
  productToWorld: THREE.Matrix4;
  upWorld: THREE.Vector3;
  /** The point under the product's bounding-box bottom centre, on the supporting plane. */
  groundWorld: THREE.Vector3;
  /** Bounding sphere of the placed product (world). */
  sphereWorld: THREE.Sphere;
  warnings: string[];
}

/**
 * Places a product. With no anchor, its bounding-box bottom centre sits at the world origin with its own
 * +Y along world +Y (and +Z along world +Z at yaw 0), so a file can be checked against any camera track.
 * With an anchor, the bottom centre sits on the anchor point, +Y along the plane normal, and at yaw 0 the
 * product's front (+Z) faces `facing` (the camera the user pointed from), scaled to metres by the anchor.
 */
export function placeProduct(bounds: THREE.Box3, anchor: ProductAnchor | undefined, options: PlacementOptions = {}, facing?: CameraPose): Placement {
  const heightM = options.productHeightM ?? PLACEMENT_DEFAULTS.productHeightM;
  const yawDeg = options.productYawDeg ?? PLACEMENT_DEFAULTS.productYawDeg;
  if (!Number.isFinite(heightM) || heightM < 0) throw new VaneliaError('compositor', 'INVALID_PLACEMENT', `product height ${heightM} m is not a size.`);
  if (!Number.isFinite(yawDeg)) throw new VaneliaError('compositor', 'INVALID_PLACEMENT', 'product yaw is not a number.');
  const warnings: string[] = [];
  const size = bounds.getSize(new THREE.Vector3());
  const fileScale = heightM > 0 ? heightM / Math.max(size.y, 1e-9) : 1;
  const bottomCentre = new THREE.Vector3((bounds.min.x + bounds.max.x) / 2, bounds.min.y, (bounds.min.z + bounds.max.z) / 2);

  let up = new THREE.Vector3(0, 1, 0);
  let ground = new THREE.Vector3();
  let unitsPerMetre = 1;
  let basis = new THREE.Matrix4();
  if (anchor) {
    up = anchor.upWorld.clone();
    if (!(up.length() > 1e-9) || ![up.x, up.y, up.z, anchor.pointWorld.x, anchor.pointWorld.y, anchor.pointWorld.z].every(Number.isFinite)) {
      throw new VaneliaError('compositor', 'INVALID_ANCHOR', 'the anchor has no usable point or up direction.');
    }
    up.normalize();
    ground = anchor.pointWorld.clone();
    if (anchor.metresPerUnit > 0 && Number.isFinite(anchor.metresPerUnit)) unitsPerMetre = 1 / anchor.metresPerUnit;
    else warnings.push('compositor: the anchor has no metric scale; one world unit is taken as one metre.');
    // Front (+Z) towards the facing camera, projected onto the plane.
    let front = facing ? cameraCentre(facing).sub(ground) : new THREE.Vector3(0, 0, 1);
    front.addScaledVector(up, -front.dot(up));
    if (front.length() < 1e-9) {
      front = Math.abs(up.x) < 0.9 ? new THREE.Vector3(1, 0, 0) : new THREE.Vector3(0, 0, 1);
      front.addScaledVector(up, -front.dot(up));
    }
    front.normalize();
    const right = new THREE.Vector3().crossVectors(up, front).normalize();
    basis = new THREE.Matrix4().makeBasis(right, up, front);
  }
  const yaw = new THREE.Matrix4().makeRotationY(THREE.MathUtils.degToRad(yawDeg));
  const scale = fileScale * unitsPerMetre;
  const productToWorld = new THREE.Matrix4()
    .makeTranslation(ground.x, ground.y, ground.z)
    .multiply(basis)
    .multiply(yaw)
    .multiply(new THREE.Matrix4().makeScale(scale, scale, scale))
    .multiply(new THREE.Matrix4().makeTranslation(-bottomCentre.x, -bottomCentre.y, -bottomCentre.z));
  const sphereWorld = bounds.getBoundingSphere(new THREE.Sphere()).applyMatrix4(productToWorld);
  return { productToWorld, upWorld: up, groundWorld: ground, sphereWorld, warnings };
}
