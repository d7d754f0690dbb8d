import type { PixelRect } from '@vanelia/runtime';
import * as THREE from 'three/webgpu';
import { lights, mrt, output, vec4 } from 'three/tsl';
import { projectPoint, worldToCamera, type CameraPose } from './camera-model';
import { neutralLighting, type LightingEstimate } from './light-estimate';
import type { Placement } from './placement';
import type { ProductModel } from './product-model';

/**
 * The scene one job renders: the placed product, a shadow catcher on the supporting plane, the environment
 * estimated from the footage (image-based lighting), a key light from the dominant direction and an
 * overhead light whose soft shadow stands in for ambient occlusion under the product.
 */

export interface StageOptions {
  /** Shadow map size of the key light, texels. */
  shadowMapPx?: number;
  /** Blur radius of the key light's shadow, texels (soft edges). */
  keyShadowRadiusPx?: number;
  /** Blur radius of the overhead contact shadow, texels. */
  contactShadowRadiusPx?: number;
  /** How dark the contact shadow gets (0..1). */
  contactShadowStrength?: number;
  /** Shadow catcher radius as a multiple of the product's bounding radius. */
  catcherRadiusScale?: number;
}

export const STAGE_DEFAULTS: Required<StageOptions> = {
  shadowMapPx: 1024,
  keyShadowRadiusPx: 4,
  contactShadowRadiusPx: 24,
  contactShadowStrength: 0.55,
  catcherRadiusScale: 4,
};

// An axis-aligned pixel rectangle of a frame: one definition, shared with the runtime's pixel conversions.
export type { PixelRect };

/** Depth range (along the camera's +z) that holds the product. */
export interface DepthRange {
  nearM: number;
  farM: number;
}

export class ProductStage {
  readonly scene = new THREE.Scene();
  readonly placement: Placement;
  private readonly keyLight = new THREE.DirectionalLight(0xffffff, 1);
  private readonly contactLight = new THREE.DirectionalLight(0xffffff, 0);
  private readonly catcher: THREE.Mesh;
  private readonly holder: THREE.Group;
  private envTexture: THREE.DataTexture | null = null;
  private keyDirection: THREE.Vector3;
  /** Corners of the placed product's bounding box (world). */
  private readonly corners: THREE.Vector3[];
  private readonly opts: Required<StageOptions>;

  constructor(
    readonly model: ProductModel,
    placement: Placement,
    options: StageOptions = {},
  ) {
    this.opts = { ...STAGE_DEFAULTS };
    for (const [key, value] of Object.entries(options)) if (value !== undefined) (this.opts as Record<string, number>)[key] = value;
    this.placement = placement;
    this.keyDirection = placement.upWorld.clone();
    const { min, max } = model.bounds;
    this.corners = [0, 1, 2, 3, 4, 5, 6, 7].map((i) =>
      new THREE.Vector3(i & 1 ? max.x : min.x, i & 2 ? max.y : min.y, i & 4 ? max.z : min.z).applyMatrix4(placement.productToWorld),
    );
    const holder = (this.holder = new THREE.Group());
    holder.name = 'placed-product';
    holder.matrixAutoUpdate = false;
    holder.matrix.copy(placement.productToWorld);
    holder.add(model.root);
    this.scene.add(holder);

    // Product materials see the key light and the environment; the contact light only shades the catcher.
    const productLights = lights([this.keyLight]);
    model.root.traverse((object) => {
      const mesh = object as THREE.Mesh;
      if (!mesh.isMesh) return;
      for (const material of Array.isArray(mesh.material) ? mesh.material : [mesh.material]) {
        (material as THREE.NodeMaterial).lightsNode = productLights;
      }
    });

    const radius = placement.sphereWorld.radius * this.opts.catcherRadiusScale;
    const catcherMaterial = new THREE.ShadowNodeMaterial({ opacity: 1 });
    catcherMaterial.transparent = false;
    catcherMaterial.depthWrite = true;
    // The catcher draws nothing into the colour layer; its shadow goes to the aux layer's red channel.
    catcherMaterial.mrtNode = mrt({ output: vec4(0, 0, 0, 0), aux: vec4(output.a, 0, 0, 0) });
    this.catcher = new THREE.Mesh(new THREE.CircleGeometry(radius, 96), catcherMaterial);
    this.catcher.name = 'shadow-catcher';
    this.catcher.receiveShadow = true;
    // Circle lies in its XY plane facing +Z: turn +Z to the up axis, nudge it just under the ground point.
    this.catcher.quaternion.setFromUnitVectors(new THREE.Vector3(0, 0, 1), placement.upWorld);
    this.catcher.position.copy(placement.groundWorld).addScaledVector(placement.upWorld, -radius * 1e-4);
    this.scene.add(this.catcher);

    for (const light of [this.keyLight, this.contactLight]) {
      light.castShadow = true;
      light.shadow.mapSize.set(this.opts.shadowMapPx, this.opts.shadowMapPx);
      light.shadow.autoUpdate = false; // product and lights are static for a job: render the maps once
      this.scene.add(light, light.target);
    }
    this.contactLight.shadow.radius = this.opts.contactShadowRadiusPx;
    this.contactLight.shadow.intensity = this.opts.contactShadowStrength;
    this.keyLight.shadow.radius = this.opts.keyShadowRadiusPx;
    this.aimLight(this.contactLight, placement.upWorld);
    this.setLighting(neutralLighting(placement.upWorld));
    this.scene.updateMatrixWorld(true);
  }

  /** Points a directional light at the product from `towardsLight`, its shadow frustum fit to the product. */
  private aimLight(light: THREE.DirectionalLight, towardsLight: THREE.Vector3): void {
    const sphere = this.placement.sphereWorld;
    const r = Math.max(sphere.radius, 1e-6);
    const direction = towardsLight.clone().normalize();
    light.position.copy(sphere.center).addScaledVector(direction, r * 3);
    light.target.position.copy(sphere.center);
    const camera = light.shadow.camera as THREE.OrthographicCamera;
    // Grazing light throws long shadows: reach past the sphere along the light by up to 1/sin(elevation).
    const elevation = Math.max(0.2, Math.abs(direction.dot(this.placement.upWorld)));
    camera.left = -r * 1.05;
    camera.right = r * 1.05;
    camera.top = r * 1.05;
    camera.bottom = -r * 1.05;
    camera.near = r * 0.5;
    camera.far = r * (4.5 + 2 / elevation);
    camera.updateProjectionMatrix();
    light.shadow.bias = -0.0005;
    light.shadow.normalBias = r * 0.002;
    light.shadow.needsUpdate = true;
    light.updateMatrixWorld(true);
    light.target.updateMatrixWorld(true);
  }

  /** Applies an estimate: environment map, key light direction, strength and shadow darkness. */
  setLighting(estimate: LightingEstimate): void {
    const { envWidthPx: w, envHeightPx: h, envRgba } = estimate;
    const half = new Uint16Array(envRgba.length);
    const envScale = 1 - 0.35 * estimate.keyStrength; // part of the light now comes from the key light
    for (let i = 0; i < envRgba.length; i++) half[i] = THREE.DataUtils.toHalfFloat(i % 4 === 3 ? 1 : envRgba[i] * envScale);
    this.envTexture?.dispose();
    const env = new THREE.DataTexture(half, w, h, THREE.RGBAFormat, THREE.HalfFloatType);
    env.mapping = THREE.EquirectangularReflectionMapping;
    env.colorSpace = THREE.LinearSRGBColorSpace;
    env.magFilter = THREE.LinearFilter;
    env.minFilter = THREE.LinearFilter;
    env.generateMipmaps = false;
    env.flipY = false;
    env.needsUpdate = true;
    this.envTexture = env;
    this.scene.environment = env;

    const [ar, ag, ab] = estimate.ambient;
    const ambientLum = 0.2126 * ar + 0.7152 * ag + 0.0722 * ab;
    // Directional intensity π·L gives a white Lambertian surface facing it radiance L.
    this.keyLight.intensity = Math.PI * ambientLum * 1.2 * estimate.keyStrength;
    this.keyLight.shadow.intensity = 0.25 + 0.65 * estimate.keyStrength;
    this.contactLight.shadow.intensity = this.opts.contactShadowStrength * (1 - 0.4 * estimate.keyStrength);
    this.keyDirection = estimate.keyDirectionWorld.clone().normalize();
    this.aimLight(this.keyLight, this.keyDirection);
  }

  /**
   * The part of a camera's frame where the product (`what` = 'product': its box corners) or also its
   * shadows ('all': the corners cast along the key light onto the plane, and a ring for the contact
   * shadow) can appear, padded by `marginPx`; the whole frame when any of it is behind the camera.
   */
  screenRegion(pose: CameraPose, marginPx: number, what: 'product' | 'all' = 'all'): PixelRect {
    const { upWorld: up, groundWorld: ground, sphereWorld } = this.placement;
    const points = [...this.corners];
    if (what === 'all') {
      const along = Math.max(this.keyDirection.dot(up), 0.2);
      let footprint = 0;
      for (const corner of this.corners) {
        const offset = corner.clone().sub(ground);
        const height = offset.dot(up);
        footprint = Math.max(footprint, offset.addScaledVector(up, -height).length());
        points.push(corner.clone().addScaledVector(this.keyDirection, -Math.max(height, 0) / along));
      }
      // The contact shadow spreads a little past the footprint.
      const side = Math.abs(up.x) < 0.9 ? new THREE.Vector3(1, 0, 0) : new THREE.Vector3(0, 0, 1);
      const a = side.addScaledVector(up, -side.dot(up)).normalize();
      const b = new THREE.Vector3().crossVectors(up, a);
      const reach = footprint * 1.2 + sphereWorld.radius * 0.1;
      for (let i = 0; i < 12; i++) {
        const angle = (i / 12) * Math.PI * 2;
        points.push(ground.clone().addScaledVector(a, Math.cos(angle) * reach).addScaledVector(b, Math.sin(angle) * reach));
      }
    }
    return pixelBounds(pose, points, marginPx, sphereWorld.radius * 1e-3);
  }

  /** Shows only the product (with `'product'`) or only the shadow catcher (`'shadow'`) for the next render. */
  showOnly(pass: 'product' | 'shadow'): void {
    this.holder.visible = pass === 'product';
    this.catcher.visible = pass === 'shadow';
  }

  /** Depth range that tightly holds the product for a camera at `eyeWorld` looking along `forwardWorld`. */
  productDepthRange(eyeWorld: THREE.Vector3, forwardWorld: THREE.Vector3): DepthRange {
    const { center, radius } = this.placement.sphereWorld;
    const z = center.clone().sub(eyeWorld).dot(forwardWorld);
    return { nearM: Math.max(z - radius * 1.01, radius * 1e-3), farM: Math.max(z + radius * 1.01, radius * 2e-3) };
  }

  dispose(): void {
    this.envTexture?.dispose();
    this.catcher.geometry.dispose();
    (this.catcher.material as THREE.Material).dispose();
    for (const light of [this.keyLight, this.contactLight]) light.shadow.dispose();
    this.model.dispose();
  }
}

/** Pixel bounding box of world points, padded and clipped to the frame; the whole frame if any is behind the camera. */
function pixelBounds(pose: CameraPose, points: THREE.Vector3[], marginPx: number, nearest: number): PixelRect {
  const k = pose.intrinsics;
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const point of points) {
    if (worldToCamera(pose, point).z <= nearest) return { xPx: 0, yPx: 0, widthPx: k.widthPx, heightPx: k.heightPx };
    const { uPx, vPx } = projectPoint(pose, point);
    [x0, y0, x1, y1] = [Math.min(x0, uPx), Math.min(y0, vPx), Math.max(x1, uPx), Math.max(y1, vPx)];
  }
  const left = Math.max(0, Math.floor(x0 - marginPx));
  const top = Math.max(0, Math.floor(y0 - marginPx));
  const right = Math.min(k.widthPx, Math.ceil(x1 + marginPx));
  const bottom = Math.min(k.heightPx, Math.ceil(y1 + marginPx));
  if (right <= left || bottom <= top) return { xPx: 0, yPx: 0, widthPx: 0, heightPx: 0 };
  return { xPx: left, yPx: top, widthPx: right - left, heightPx: bottom - top };
}
