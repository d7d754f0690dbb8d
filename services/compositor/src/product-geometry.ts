import type { Accessor, Primitive } from '@gltf-transform/core';
import { VaneliaError } from '@vanelia/runtime';
import * as THREE from 'three/webgpu';

/** glTF primitive modes. */
const MODE = { POINTS: 0, LINES: 1, LINE_LOOP: 2, LINE_STRIP: 3, TRIANGLES: 4, TRIANGLE_STRIP: 5, TRIANGLE_FAN: 6 } as const;

/** glTF attribute semantic -> three.js attribute name (others, such as joints and weights, are not drawn). */
function attributeName(semantic: string): string | undefined {
  if (semantic === 'POSITION') return 'position';
  if (semantic === 'NORMAL') return 'normal';
  if (semantic === 'TANGENT') return 'tangent';
  if (semantic === 'COLOR_0') return 'color';
  const uv = /^TEXCOORD_(\d)$/.exec(semantic);
  if (uv) return uv[1] === '0' ? 'uv' : Number(uv[1]) <= 3 ? `uv${uv[1]}` : undefined;
  return undefined;
}

/**
 * Accessor values as float32, dequantised (KHR_mesh_quantization: normalised integers map to [0,1] or
 * [-1,1]; plain integers keep their value and rely on the node transform).
 */
export function accessorToFloat32(accessor: Accessor): Float32Array {
  const array = accessor.getArray();
  if (!array) return new Float32Array(accessor.getCount() * accessor.getElementSize());
  if (array instanceof Float32Array) return array;
  const out = new Float32Array(array.length);
  const normalized = accessor.getNormalized();
  const scale = !normalized
    ? 1
    : array instanceof Int8Array
      ? 1 / 127
      : array instanceof Uint8Array
        ? 1 / 255
        : array instanceof Int16Array
          ? 1 / 32767
          : array instanceof Uint16Array
            ? 1 / 65535
            : 1;
  const signed = normalized && (array instanceof Int8Array || array instanceof Int16Array);
  for (let i = 0; i < array.length; i++) {
    const value = Number(array[i]) * scale;
    out[i] = signed ? Math.max(value, -1) : value;
  }
  return out;
}

/** Triangle-list indices for a primitive in any triangle mode (strips and fans unrolled). */
function triangleIndices(mode: number, indices: ArrayLike<number> | undefined, vertexCount: number): Uint32Array {
  const count = indices ? indices.length : vertexCount;
  const at = (i: number) => (indices ? indices[i] : i);
  if (mode === MODE.TRIANGLES) {
    const out = new Uint32Array(count - (count % 3));
    for (let i = 0; i < out.length; i++) out[i] = at(i);
    return out;
  }
  const triangles = Math.max(0, count - 2);
  const out = new Uint32Array(triangles * 3);
  for (let t = 0; t < triangles; t++) {
    if (mode === MODE.TRIANGLE_FAN) out.set([at(0), at(t + 1), at(t + 2)], t * 3);
    else out.set(t % 2 === 0 ? [at(t), at(t + 1), at(t + 2)] : [at(t + 1), at(t), at(t + 2)], t * 3);
  }
  return out;
}

export interface PrimitiveGeometry {
  geometry: THREE.BufferGeometry;
  /** Whether the file gave tangents (else normal maps use screen-space derivatives, flipping Y). */
  hasTangents: boolean;
  hasVertexColors: boolean;
}

/**
 * A three.js geometry for one glTF primitive, or a reason it cannot be drawn (points and lines are not
 * products; a primitive without positions is empty).
 */
export function primitiveGeometry(primitive: Primitive): PrimitiveGeometry | string {
  const mode = primitive.getMode();
  if (mode !== MODE.TRIANGLES && mode !== MODE.TRIANGLE_STRIP && mode !== MODE.TRIANGLE_FAN) {
    return `a primitive in mode ${mode} (points or lines) is not drawn`;
  }
  const position = primitive.getAttribute('POSITION');
  if (!position) return 'a primitive without POSITION is not drawn';
  const geometry = new THREE.BufferGeometry();
  for (const semantic of primitive.listSemantics()) {
    const name = attributeName(semantic);
    const accessor = primitive.getAttribute(semantic);
    if (!name || !accessor) continue;
    const itemSize = accessor.getElementSize();
    if (name === 'color' && itemSize !== 3 && itemSize !== 4) continue;
    geometry.setAttribute(name, new THREE.BufferAttribute(accessorToFloat32(accessor), itemSize));
  }
  const vertexCount = position.getCount();
  const indexAccessor = primitive.getIndices();
  const sourceIndices = indexAccessor?.getArray() ?? undefined;
  if (sourceIndices || mode !== MODE.TRIANGLES) {
    const indices = triangleIndices(mode, sourceIndices as ArrayLike<number> | undefined, vertexCount);
    for (let i = 0; i < indices.length; i++) {
      if (indices[i] >= vertexCount) {
        throw new VaneliaError('compositor', 'INVALID_GLB', `a primitive's index ${indices[i]} is past its ${vertexCount} vertices (out-of-range accessor data).`);
      }
    }
    geometry.setIndex(new THREE.BufferAttribute(vertexCount > 65535 ? indices : Uint16Array.from(indices), 1));
  }
  let result = geometry;
  if (!geometry.getAttribute('normal')) {
    // glTF: without normals, primitives are flat shaded.
    result = geometry.index ? geometry.toNonIndexed() : geometry;
    result.computeVertexNormals();
  }
  result.computeBoundingBox();
  result.computeBoundingSphere();
  return { geometry: result, hasTangents: !!result.getAttribute('tangent'), hasVertexColors: !!result.getAttribute('color') };
}
