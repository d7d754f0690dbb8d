import type * as THREE from 'three/webgpu';

/**
 * Reads render-target layers back to the CPU with reused staging buffers: all copies of a frame go into one
 * command buffer and one submit, queued right after the frame's passes (so the next frame may draw into
 * the same targets), and the mappable buffers are kept for later frames instead of being created and
 * destroyed for every read (three.js's readRenderTargetPixelsAsync does that, and zero-fills each one).
 * The bytes are the same: a texel copy of the same texture, rows unpadded.
 */

/** One layer to read: an RGBA8 texture of a render target (textures[layer]), its whole extent. */
export interface LayerRead {
  target: THREE.RenderTarget;
  layer: number;
  widthPx: number;
  heightPx: number;
}

interface Backend {
  device?: GPUDevice;
  get(object: object): { texture?: GPUTexture };
}

const BYTES_PER_TEXEL = 4;

export class Readback {
  /** Unmapped staging buffers by size, ready for reuse. */
  private readonly free = new Map<number, GPUBuffer[]>();
  private freeCount = 0;

  constructor(
    private readonly backend: Backend,
    /** Staging buffers kept for reuse at most (extra ones are destroyed). */
    private readonly keep = 48,
  ) {}

  /** True when the renderer exposes its WebGPU device (three's WebGPU backend). */
  static supported(backend: unknown): boolean {
    return !!(backend as Backend | undefined)?.device && typeof (backend as Backend).get === 'function';
  }

  /** Queues the copies now; resolves with tightly packed RGBA8 bytes per layer. */
  read(layers: LayerRead[]): Promise<Uint8Array[]> {
    const device = this.backend.device!;
    const encoder = device.createCommandEncoder();
    const staged = layers.map((layer) => {
      const rowBytes = layer.widthPx * BYTES_PER_TEXEL;
      const bytesPerRow = Math.ceil(rowBytes / 256) * 256;
      const size = bytesPerRow * layer.heightPx;
      const buffer = this.take(device, size);
      const texture = this.backend.get(layer.target.textures[layer.layer]).texture!;
      encoder.copyTextureToBuffer({ texture }, { buffer, bytesPerRow }, { width: layer.widthPx, height: layer.heightPx });
      return { buffer, size, rowBytes, bytesPerRow, heightPx: layer.heightPx };
    });
    device.queue.submit([encoder.finish()]);
    return Promise.all(
      staged.map(async ({ buffer, size, rowBytes, bytesPerRow, heightPx }) => {
        try {
          await buffer.mapAsync(GPUMapMode.READ, 0, size);
        } catch (error) {
          buffer.destroy();
          throw error;
        }
        const mapped = new Uint8Array(buffer.getMappedRange(0, size));
        let out: Uint8Array;
        if (bytesPerRow === rowBytes) {
          out = mapped.slice();
        } else {
          out = new Uint8Array(rowBytes * heightPx);
          for (let row = 0; row < heightPx; row++) out.set(mapped.subarray(row * bytesPerRow, row * bytesPerRow + rowBytes), row * rowBytes);
        }
        buffer.unmap();
        this.give(buffer, size);
        return out;
      }),
    );
  }

  private take(device: GPUDevice, size: number): GPUBuffer {
    const list = this.free.get(size);
    const reused = list?.pop();
    if (reused) {
      this.freeCount--;
      return reused;
    }
    return device.createBuffer({ size, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
  }

  private give(buffer: GPUBuffer, size: number): void {
    if (this.freeCount >= this.keep) {
      // Full: make room by dropping a buffer of another size (region sizes change as the product moves).
      const stale = [...this.free.entries()].find(([key, list]) => key !== size && list.length > 0);
      if (!stale) {
        buffer.destroy();
        return;
      }
      stale[1].pop()!.destroy();
      if (stale[1].length === 0) this.free.delete(stale[0]);
      this.freeCount--;
    }
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buffer);
    this.freeCount++;
  }

  dispose(): void {
    for (const list of this.free.values()) for (const buffer of list) buffer.destroy();
    this.free.clear();
    this.freeCount = 0;
  }
}
