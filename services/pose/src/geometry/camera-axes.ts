import type { Mat4 } from './mat4';

/**
 * Camera axis conventions. OpenCV: x right, y down, z forward (COLMAP, DUSt3R, our proto).
 * OpenGL: x right, y up, z backward (NeRF transforms.json, three.js). Converting a camera-to-world
 * matrix between them negates its y and z columns (right-multiplication by diag(1, −1, −1, 1));
 * the operation is its own inverse.
 */
function flipCameraYZ(cameraToWorld: Mat4): Mat4 {
  if (cameraToWorld.length !== 16) throw new RangeError(`camera-to-world needs 16 values, got ${cameraToWorld.length}`);
  const out = Float64Array.from(cameraToWorld);
  for (let r = 0; r < 4; r++) {
    out[r * 4 + 1] = -out[r * 4 + 1];
    out[r * 4 + 2] = -out[r * 4 + 2];
  }
  return out;
}

export function cameraToWorldOpenCvToOpenGl(cameraToWorldOpenCv: Mat4): Mat4 {
  return flipCameraYZ(cameraToWorldOpenCv);
}

export function cameraToWorldOpenGlToOpenCv(cameraToWorldOpenGl: Mat4): Mat4 {
  return flipCameraYZ(cameraToWorldOpenGl);
}
