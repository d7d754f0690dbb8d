/**
 * Contact sheet of the shared product files composited on real frames, for people to look at.
 *
 *   npx tsx tools/contact-sheet.ts [--out out/contact-sheet.png] [--backend auto|vulkan|opengles]
 *
 * Frames come from the shared videos through ffmpeg. The videos carry no camera track, so each frame gets
 * a hand-set camera that matches its view roughly (height, tilt, field of view) and an anchor on the surface
 * the product should stand on (counter top, bed); products are placed at plausible real sizes. Rows are
 * products, columns frames; every tile goes through the production path (CompositorJob: load, place,
 * estimate the lighting from the frame, render, composite).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { sharedDataFile } from '@vanelia/runtime/test-data';
import sharp from 'sharp';
import * as THREE from 'three/webgpu';
import { lookAtPose, type CameraPose } from '../services/compositor/src/camera-model';
import { CompositorJob } from '../services/compositor/src/compositor-job';
import type { GpuBackend } from '../services/compositor/src/gpu-renderer';
import { LayerRenderer } from '../services/compositor/src/layer-renderer';

interface Shot {
  label: string;
  video: string[];
  timeS: number;
  /** Camera eye and target (metres, y up), horizontal field of view as fx / width. */
  eye: [number, number, number];
  target: [number, number, number];
  focalPerWidth: number;
  /** Where the product stands: the pixel the user would click, on the horizontal plane y = planeY. */
  anchorPx: [number, number];
  planeY: number;
}

const SHOTS: Shot[] = [
  { label: 'apple t=0s', video: ['video-apple-orbit-cotracker', 'apple.mp4'], timeS: 0, eye: [0, 0.45, 0.8], target: [0, 0.05, 0], focalPerWidth: 0.9, anchorPx: [0.2, 0.62], planeY: 0 },
  { label: 'apple t=3s', video: ['video-apple-orbit-cotracker', 'apple.mp4'], timeS: 3, eye: [0, 0.45, 0.8], target: [0, 0.05, 0], focalPerWidth: 0.9, anchorPx: [0.78, 0.7], planeY: 0 },
  { label: 'bedroom t=0s', video: ['video-bedroom-sam2', 'bedroom.mp4'], timeS: 0, eye: [0, 1.15, 0], target: [0, 0.6, 2.5], focalPerWidth: 0.8, anchorPx: [0.6, 0.86], planeY: 0.55 },
];

const PRODUCTS: { label: string; file: string[]; heightM: number; yawDeg: number }[] = [
  { label: 'DamagedHelmet', file: ['glb-damaged-helmet', 'DamagedHelmet.glb'], heightM: 0.2, yawDeg: 20 },
  { label: 'chess board (Draco)', file: ['glb-chess-board-draco', 'chess-board.glb'], heightM: 0.05, yawDeg: 30 },
  { label: 'Duck', file: ['glb-duck', 'Duck.glb'], heightM: 0.12, yawDeg: -30 },
  { label: 'pirate (meshopt)', file: ['glb-pirate-meshopt', 'pirate.glb'], heightM: 0.18, yawDeg: 0 },
  { label: 'texture transform', file: ['gltf-texture-transform-test', 'TextureTransformTest.gltf'], heightM: 0.12, yawDeg: 0 },
];

const TILE_W = 432;
const TILE_H = 243;
const LABEL_W = 170;
const HEADER_H = 28;

function argument(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1] : fallback;
}

/** The point of the plane y = planeY seen at a pixel (fractions of the frame size). */
function anchorAt(pose: CameraPose, fx: number, fy: number, planeY: number): THREE.Vector3 {
  const k = pose.intrinsics;
  const m = pose.cameraToWorldOpenCv;
  const ray = new THREE.Vector3((fx * k.widthPx - k.cxPx) / k.fxPx, (fy * k.heightPx - k.cyPx) / k.fyPx, 1);
  const direction = new THREE.Vector3(
    m[0] * ray.x + m[1] * ray.y + m[2] * ray.z,
    m[4] * ray.x + m[5] * ray.y + m[6] * ray.z,
    m[8] * ray.x + m[9] * ray.y + m[10] * ray.z,
  );
  const origin = new THREE.Vector3(m[3], m[7], m[11]);
  return origin.addScaledVector(direction, (planeY - origin.y) / direction.y);
}

function label(text: string, widthPx: number, heightPx: number): Buffer {
  const escaped = text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${widthPx}" height="${heightPx}"><text x="8" y="${heightPx / 2 + 5}" font-family="DejaVu Sans" font-size="15" fill="#eee">${escaped}</text></svg>`,
  );
}

async function main(): Promise<void> {
  const out = argument('out', join('out', 'contact-sheet.png'));
  const backend = argument('backend', 'auto') as GpuBackend;
  const work = mkdtempSync(join(tmpdir(), 'vanelia-contact-'));
  const renderer = await LayerRenderer.create({ backend });
  const tiles: sharp.OverlayOptions[] = [];
  try {
    for (const [column, shot] of SHOTS.entries()) {
      const png = join(work, `shot-${column}.png`);
      execFileSync('ffmpeg', ['-v', 'error', '-y', '-ss', String(shot.timeS), '-i', sharedDataFile(...shot.video), '-frames:v', '1', png]);
      const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const image = { widthPx: info.width, heightPx: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
      const f = shot.focalPerWidth * info.width;
      const pose = lookAtPose(0, { fxPx: f, fyPx: f, cxPx: info.width / 2, cyPx: info.height / 2, widthPx: info.width, heightPx: info.height }, new THREE.Vector3(...shot.eye), new THREE.Vector3(...shot.target));
      const anchor = { pointWorld: anchorAt(pose, shot.anchorPx[0], shot.anchorPx[1], shot.planeY), upWorld: new THREE.Vector3(0, 1, 0), metresPerUnit: 1 };
      tiles.push({ input: label(shot.label, TILE_W, HEADER_H), left: LABEL_W + column * TILE_W, top: 0 });
      for (const [row, product] of PRODUCTS.entries()) {
        const job = await CompositorJob.open(renderer, {
          jobId: `sheet-${row}-${column}`,
          productPath: sharedDataFile(...product.file),
          cameras: [pose],
          anchor,
          productHeightM: product.heightM,
          productYawDeg: product.yawDeg,
          shadowOpacity: 0.8,
          maskDilatePx: 8,
        });
        const started = performance.now();
        const [result] = await job.compositeFrames([{ frameIndex: 0, image }]);
        job.close();
        process.stdout.write(`${product.label} on ${shot.label}: ${(performance.now() - started).toFixed(0)} ms\n`);
        const tile = await sharp(result.composite, { raw: { width: info.width, height: info.height, channels: 3 } }).resize(TILE_W, TILE_H, { fit: 'fill' }).png().toBuffer();
        tiles.push({ input: tile, left: LABEL_W + column * TILE_W, top: HEADER_H + row * TILE_H });
        if (column === 0) tiles.push({ input: label(product.label, LABEL_W, TILE_H), left: 0, top: HEADER_H + row * TILE_H });
      }
    }
  } finally {
    renderer.dispose();
    rmSync(work, { recursive: true, force: true });
  }
  mkdirSync(dirname(out), { recursive: true });
  await sharp({ create: { width: LABEL_W + SHOTS.length * TILE_W, height: HEADER_H + PRODUCTS.length * TILE_H, channels: 3, background: '#202020' } })
    .composite(tiles)
    .png()
    .toFile(out);
  process.stdout.write(`contact sheet: ${out}\n`);
}

await main();
process.exit(0);
