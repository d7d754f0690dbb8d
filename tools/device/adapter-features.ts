/**
 * Prints what Dawn's Vulkan adapter offers on this machine (features, subgroup sizes, limits that bound ONNX
 * Runtime's WebGPU kernels), as JSON: evidence for which WebGPU fast paths (subgroup matrices, f16) can apply.
 *   node .device/bench/adapter-features.mjs [--backend vulkan]
 */
import { create } from 'webgpu';

const backend = process.argv.includes('--backend') ? process.argv[process.argv.indexOf('--backend') + 1] : 'vulkan';
const gpu = create([`backend=${backend}`, 'enable-dawn-features=allow_unsafe_apis']) as GPU;
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) {
  console.log(JSON.stringify({ backend, adapter: null }));
  process.exit(1);
}
const info = adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
const limits: Record<string, number> = {};
for (const key of ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup']) {
  limits[key] = (adapter.limits as unknown as Record<string, number>)[key];
}
console.log(
  JSON.stringify(
    { backend, vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description, subgroupMinSize: info.subgroupMinSize, subgroupMaxSize: info.subgroupMaxSize, features: [...adapter.features].sort(), limits },
    null,
    1,
  ),
);
process.exit(0);
