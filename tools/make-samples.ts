// Makes the bundled demo inputs (samples/): a short video of a textured room filmed by a moving camera,
// rendered here with the compositor's renderer, and a small product GLB built in code.
// Usage: npx tsx tools/make-samples.ts   (deterministic: a fixed seed; rerun to regenerate)
import { Document, NodeIO } from '@gltf-transform/core';
import { createGpuRenderer } from '../services/compositor/src/gpu-renderer';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as THREE from 'three/webgpu';
import { REPO_ROOT } from '@vanelia/runtime';

const OUT = join(REPO_ROOT, 'samples');
const WIDTH = 640;
const HEIGHT = 360;
const FPS = 24;
const FRAMES = 60;

/** Deterministic pseudo-random numbers (mulberry32). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A texture with blotches and speckles: corners and blobs a feature tracker can hold on to. */
function speckledTexture(size: number, base: [number, number, number], seed: number): THREE.DataTexture {
  const rand = random(seed);
  const data = new Uint8Array(size * size * 4);
  const blobs = Array.from({ length: 220 }, () => ({ x: rand() * size, y: rand() * size, r: 2 + rand() * 14, k: 0.55 + rand() * 0.9 }));
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let shade = 0.94 + 0.06 * Math.sin(x * 0.05 + Math.sin(y * 0.03) * 3);
      for (const b of blobs) {
        const d = Math.hypot(x - b.x, y - b.y);
        if (d < b.r) shade *= b.k;
      }
      shade *= 0.9 + 0.2 * rand();
      const o = (y * size + x) * 4;
      for (let c = 0; c < 3; c++) data[o + c] = Math.max(0, Math.min(255, base[c] * shade));
      data[o + 3] = 255;
    }
  }
  const texture = new THREE.DataTexture(data, size, size, THREE.RGBAFormat);
  texture.colorSpace = THREE.SRGBColorSpace;
  texture.wrapS = texture.wrapT = THREE.RepeatWrapping;
  texture.magFilter = THREE.LinearFilter;
  texture.minFilter = THREE.LinearMipmapLinearFilter;
  texture.generateMipmaps = true;
  texture.needsUpdate = true;
  return texture;
}

function buildRoom(): THREE.Scene {
  const scene = new THREE.Scene();
  scene.background = new THREE.Color(0.55, 0.6, 0.68);
  const floorTexture = speckledTexture(512, [176, 138, 98], 1);
  floorTexture.repeat.set(3, 3);
  const floor = new THREE.Mesh(new THREE.PlaneGeometry(6, 6), new THREE.MeshStandardMaterial({ map: floorTexture, roughness: 0.8 }));
  floor.rotation.x = -Math.PI / 2;
  scene.add(floor);
  const wallTexture = speckledTexture(512, [205, 200, 186], 2);
  wallTexture.repeat.set(2, 1);
  const back = new THREE.Mesh(new THREE.PlaneGeometry(6, 3), new THREE.MeshStandardMaterial({ map: wallTexture, roughness: 0.9 }));
  back.position.set(0, 1.5, -2);
  scene.add(back);
  const side = back.clone();
  side.rotation.y = Math.PI / 2;
  side.position.set(-2.2, 1.5, 1);
  scene.add(side);
  // A few boxes and a rug give depth (parallax) for camera tracking.
  const rand = random(3);
  for (let i = 0; i < 5; i++) {
    const size = 0.2 + rand() * 0.35;
    const box = new THREE.Mesh(
      new THREE.BoxGeometry(size, size * (0.8 + rand()), size),
      new THREE.MeshStandardMaterial({ map: speckledTexture(128, [80 + rand() * 150, 80 + rand() * 150, 80 + rand() * 150], 10 + i), roughness: 0.6 }),
    );
    box.position.set(-1.6 + i * 0.75, (box.geometry as THREE.BoxGeometry).parameters.height / 2, -1.3 + rand() * 0.4);
    box.rotation.y = rand() * Math.PI;
    scene.add(box);
  }
  const rug = new THREE.Mesh(new THREE.CircleGeometry(0.7, 48), new THREE.MeshStandardMaterial({ map: speckledTexture(256, [120, 40, 45], 20), roughness: 1 }));
  rug.rotation.x = -Math.PI / 2;
  rug.position.set(0.1, 0.002, -0.1);
  scene.add(rug);
  scene.add(new THREE.HemisphereLight(0xdde6ff, 0x6a5a48, 1.4));
  const sun = new THREE.DirectionalLight(0xfff2dd, 2.2);
  sun.position.set(2, 4, 3);
  scene.add(sun);
  return scene;
}

/** Camera path: a slow dolly and orbit around the rug, looking at its centre (real parallax for tracking). */
function cameraAt(t: number, camera: THREE.PerspectiveCamera): void {
  const angle = -0.35 + 0.7 * t;
  const radius = 2.6 - 0.3 * t;
  camera.position.set(Math.sin(angle) * radius, 1.35 + 0.15 * Math.sin(t * Math.PI), Math.cos(angle) * radius);
  camera.lookAt(0.1, 0.25, -0.2);
}

async function renderVideo(path: string): Promise<void> {
  const gpu = await createGpuRenderer();
  const { renderer } = gpu;
  const scene = buildRoom();
  const camera = new THREE.PerspectiveCamera(55, WIDTH / HEIGHT, 0.05, 50);
  const target = new THREE.RenderTarget(WIDTH, HEIGHT, { samples: 4, colorSpace: THREE.SRGBColorSpace });
  renderer.outputColorSpace = THREE.SRGBColorSpace;
  const seconds = (FRAMES / FPS).toFixed(3);
  const ffmpeg = spawn('ffmpeg', [
    '-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', `${WIDTH}x${HEIGHT}`, '-framerate', String(FPS), '-i', 'pipe:0',
    // Room tone: filtered noise, so the demo shows audio passing through.
    '-f', 'lavfi', '-i', `anoisesrc=color=brown:amplitude=0.05:duration=${seconds}:seed=7,lowpass=f=400`,
    '-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'slow', '-crf', '20', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k', '-shortest', '-movflags', '+faststart', path,
  ], { stdio: ['pipe', 'inherit', 'inherit'] });
  for (let i = 0; i < FRAMES; i++) {
    cameraAt(i / (FRAMES - 1), camera);
    renderer.setRenderTarget(target);
    renderer.render(scene, camera);
    const pixels = (await renderer.readRenderTargetPixelsAsync(target, 0, 0, WIDTH, HEIGHT)) as Uint8Array;
    renderer.setRenderTarget(null);
    // WebGPU reads render targets top row first: the rows go to ffmpeg as they are.
    if (!ffmpeg.stdin.write(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength))) await new Promise((resolve) => ffmpeg.stdin.once('drain', resolve));
  }
  ffmpeg.stdin.end();
  const code = await new Promise<number | null>((resolve) => ffmpeg.once('close', resolve));
  gpu.dispose();
  if (code !== 0) throw new Error(`ffmpeg exited with ${code}`);
}

/** The product: a glazed floor vase, 45 cm tall (big enough to read in a 640x360 room shot), PBR, +Y up, metres. */
async function buildProduct(path: string): Promise<void> {
  const profile: Array<[number, number]> = [];
  for (let i = 0; i <= 24; i++) {
    const y = (0.45 * i) / 24;
    const t = y / 0.45;
    // Belly low, narrow neck, a lip at the top.
    profile.push([0.07 + 0.075 * Math.sin(Math.PI * Math.min(1, t * 1.25)) ** 1.5 + (t > 0.92 ? 0.02 * (t - 0.92) / 0.08 : 0), y]);
  }
  const body = new THREE.LatheGeometry([new THREE.Vector2(0, 0), ...profile.map(([r, y]) => new THREE.Vector2(r, y)), new THREE.Vector2(0.06, 0.45)], 64);
  const band = new THREE.TorusGeometry(0.118, 0.008, 12, 64);
  band.rotateX(Math.PI / 2);
  band.translate(0, 0.16, 0);
  const doc = new Document();
  const buffer = doc.createBuffer();
  const scene = doc.createScene('product');
  const addMesh = (geometry: THREE.BufferGeometry, name: string, color: [number, number, number, number], roughness: number): void => {
    const g = geometry.index ? geometry.toNonIndexed() : geometry;
    g.computeVertexNormals();
    const material = doc.createMaterial(`${name}-material`).setBaseColorFactor(color).setRoughnessFactor(roughness).setMetallicFactor(0);
    const primitive = doc
      .createPrimitive()
      .setAttribute('POSITION', doc.createAccessor().setType('VEC3').setArray(new Float32Array(g.getAttribute('position').array)).setBuffer(buffer))
      .setAttribute('NORMAL', doc.createAccessor().setType('VEC3').setArray(new Float32Array(g.getAttribute('normal').array)).setBuffer(buffer))
      .setMaterial(material);
    scene.addChild(doc.createNode(name).setMesh(doc.createMesh(name).addPrimitive(primitive)));
  };
  addMesh(body, 'vase-body', [0.12, 0.32, 0.55, 1], 0.25);
  addMesh(band, 'vase-band', [0.85, 0.7, 0.35, 1], 0.4);
  doc.getRoot().getAsset().generator = 'vanelia tools/make-samples.ts';
  await writeFile(path, await new NodeIO().writeBinary(doc));
}

await mkdir(OUT, { recursive: true });
await buildProduct(join(OUT, 'demo-product.glb'));
await renderVideo(join(OUT, 'demo-scene.mp4'));
console.log(`wrote ${join(OUT, 'demo-product.glb')} and ${join(OUT, 'demo-scene.mp4')}`);
