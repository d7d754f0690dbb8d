import type { Document, Node as GltfNode, Texture } from '@gltf-transform/core';
import type { InstancedMesh as GltfInstancing, Visibility } from '@gltf-transform/extensions';
import { VaneliaError } from '@vanelia/runtime';
import * as THREE from 'three/webgpu';
import { mergeLimits, type ProductLimits } from './gltf-guard';
import { readProductDocument } from './product-document';
import { accessorToFloat32, primitiveGeometry } from './product-geometry';
import { ProductMaterialFactory } from './product-materials';
import { decodeTexture, type DecodedImage } from './texture-decode';

/**
 * A product ready to draw: a three.js group in the file's own units (glTF: metres, +Y up), its bounds, and
 * what was skipped or approximated on the way.
 */
export interface ProductModel {
  root: THREE.Group;
  /** Axis-aligned bounds of everything drawn, in the file's coordinates. */
  bounds: THREE.Box3;
  warnings: string[];
  /** Frees geometries, materials and textures. */
  dispose(): void;
}

export interface ProductLoadOptions extends ProductLimits {
  /** Longest texture side kept (larger textures are downscaled on load). */
  maxTextureSizePx?: number;
}

/** Decodes every texture once (WebP, AVIF, KTX2 included); sizes are checked from headers first. */
async function decodeImages(document: Document, options: ProductLoadOptions): Promise<Map<Texture, DecodedImage>> {
  const limits = mergeLimits(options);
  const images = new Map<Texture, DecodedImage>();
  const textures = document.getRoot().listTextures();
  for (const [index, texture] of textures.entries()) {
    const bytes = texture.getImage();
    const label = `texture ${index} (${texture.getURI() || texture.getName() || texture.getMimeType()})`;
    if (!bytes) continue; // unused placeholders; a used texture without bytes is reported by the guard
    images.set(texture, await decodeTexture(bytes, texture.getMimeType(), label, { maxPixels: limits.maxTexturePixels, maxSizePx: options.maxTextureSizePx }));
  }
  return images;
}

function instanceMatrices(node: GltfNode): THREE.Matrix4[] | undefined {
  const instancing = node.getExtension<GltfInstancing>('EXT_mesh_gpu_instancing');
  if (!instancing) return undefined;
  const t = instancing.getAttribute('TRANSLATION');
  const r = instancing.getAttribute('ROTATION');
  const s = instancing.getAttribute('SCALE');
  const count = (t ?? r ?? s)?.getCount() ?? 0;
  const [tv, rv, sv] = [t, r, s].map((a) => (a ? accessorToFloat32(a) : undefined));
  const out: THREE.Matrix4[] = [];
  for (let i = 0; i < count; i++) {
    const position = tv ? new THREE.Vector3().fromArray(tv, i * 3) : new THREE.Vector3();
    const rotation = rv ? new THREE.Quaternion().fromArray(rv, i * 4) : new THREE.Quaternion();
    const scale = sv ? new THREE.Vector3().fromArray(sv, i * 3) : new THREE.Vector3(1, 1, 1);
    out.push(new THREE.Matrix4().compose(position, rotation, scale));
  }
  return out;
}

/** Builds the three.js group for a decoded glTF document (default scene, or every root node). */
export async function buildProductModel(document: Document, options: ProductLoadOptions = {}): Promise<ProductModel> {
  const images = await decodeImages(document, options);
  const materials = new ProductMaterialFactory(images);
  const warnings: string[] = [];
  const geometries: THREE.BufferGeometry[] = [];
  const root = new THREE.Group();
  root.name = 'product';

  const visit = (node: GltfNode, parent: THREE.Object3D): void => {
    if (node.getExtension<Visibility>('KHR_node_visibility')?.getVisible() === false) return;
    const object = new THREE.Group();
    object.name = node.getName();
    object.matrixAutoUpdate = false;
    object.matrix.fromArray(node.getMatrix());
    parent.add(object);
    const mesh = node.getMesh();
    if (mesh) {
      if (node.getSkin()) warnings.push(`compositor: mesh "${mesh.getName()}" is skinned; it is drawn in its bind pose.`);
      const instances = instanceMatrices(node);
      for (const primitive of mesh.listPrimitives()) {
        const built = primitiveGeometry(primitive);
        if (typeof built === 'string') {
          warnings.push(`compositor: in mesh "${mesh.getName()}", ${built}.`);
          continue;
        }
        geometries.push(built.geometry);
        const material = materials.material(primitive.getMaterial(), built);
        let drawn: THREE.Mesh;
        if (instances) {
          const instanced = new THREE.InstancedMesh(built.geometry, material, instances.length);
          instances.forEach((matrix, i) => instanced.setMatrixAt(i, matrix));
          drawn = instanced;
        } else {
          drawn = new THREE.Mesh(built.geometry, material);
        }
        drawn.castShadow = true;
        drawn.receiveShadow = true;
        object.add(drawn);
      }
    }
    for (const child of node.listChildren()) visit(child, object);
  };
  const docRoot = document.getRoot();
  const scene = docRoot.getDefaultScene() ?? docRoot.listScenes()[0];
  const tops = scene ? scene.listChildren() : docRoot.listNodes().filter((n) => !n.getParentNode());
  for (const node of tops) visit(node, root);
  warnings.push(...materials.warnings);

  root.updateMatrixWorld(true);
  const bounds = new THREE.Box3().setFromObject(root, true);
  return {
    root,
    bounds,
    warnings,
    dispose() {
      for (const geometry of geometries) geometry.dispose();
      materials.dispose();
    },
  };
}

/** Wraps an already built three.js object (tests, generated fixtures) as a product model. */
export function modelFromObject(root: THREE.Object3D): ProductModel {
  const group = new THREE.Group();
  group.add(root);
  group.updateMatrixWorld(true);
  return {
    root: group,
    bounds: new THREE.Box3().setFromObject(group, true),
    warnings: [],
    dispose() {
      group.traverse((object) => {
        const mesh = object as THREE.Mesh;
        if (!mesh.isMesh) return;
        mesh.geometry.dispose();
        for (const material of Array.isArray(mesh.material) ? mesh.material : [mesh.material]) material.dispose();
      });
    },
  };
}

/** Reads, checks and builds a product file (.glb or .gltf). Throws a VaneliaError on any bad input. */
export async function loadProductModel(path: string, options: ProductLoadOptions = {}): Promise<ProductModel> {
  const { document, warnings } = await readProductDocument(path, options);
  const model = await buildProductModel(document, options);
  model.warnings.unshift(...warnings);
  if (model.bounds.isEmpty()) {
    model.dispose();
    throw new VaneliaError('compositor', 'EMPTY_PRODUCT', `the product file ${JSON.stringify(path)} has no drawable triangles.`);
  }
  return model;
}
