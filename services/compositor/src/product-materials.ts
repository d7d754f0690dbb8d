import type { Material, Texture, TextureInfo } from '@gltf-transform/core';
import type {
  Anisotropy,
  Clearcoat,
  Dispersion,
  EmissiveStrength,
  IOR,
  Iridescence,
  PBRSpecularGlossiness,
  Sheen,
  Specular,
  Transform,
  Transmission,
  Volume,
} from '@gltf-transform/extensions';
import * as THREE from 'three/webgpu';
import { PHYSICAL_MATERIAL_EXTENSIONS } from './gltf-guard';
import type { DecodedImage } from './texture-decode';

/**
 * glTF materials as three.js node materials: metallic-roughness PBR, alpha modes, texture transforms and
 * the KHR_materials_* extensions three.js models (clearcoat, transmission, volume, IOR, specular, sheen,
 * iridescence, anisotropy, dispersion, emissive strength, unlit, specular-glossiness as an approximation).
 */

const WRAP: Record<number, THREE.Wrapping> = {
  33071: THREE.ClampToEdgeWrapping,
  33648: THREE.MirroredRepeatWrapping,
  10497: THREE.RepeatWrapping,
};

export type ProductMaterial = THREE.MeshStandardNodeMaterial | THREE.MeshPhysicalNodeMaterial | THREE.MeshBasicNodeMaterial;

export interface MaterialOptions {
  /** Whether the geometry carries tangents (else normal-map Y is flipped for derivative tangents). */
  hasTangents: boolean;
  hasVertexColors: boolean;
}

/** Builds and caches textures and materials for one product. */
export class ProductMaterialFactory {
  private readonly sources = new Map<Texture, THREE.DataTexture>();
  private readonly textures = new Map<string, THREE.Texture>();
  private readonly materials = new Map<string, ProductMaterial>();
  private readonly sourceIds = new Map<Texture, number>();
  private readonly materialIds = new Map<Material, number>();
  readonly warnings: string[] = [];
  private readonly warned = new Set<string>();

  constructor(private readonly images: ReadonlyMap<Texture, DecodedImage>) {}

  private warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.warnings.push(message);
  }

  /** A three.js texture for one texture slot, with its sampler, UV set, transform and colour space. */
  private texture(texture: Texture | null, info: TextureInfo | null, colorSpace: THREE.ColorSpace): THREE.Texture | null {
    if (!texture || !info) return null;
    const image = this.images.get(texture);
    if (!image) return null;
    const transform = info.getExtension<Transform>('KHR_texture_transform');
    const key = [
      this.sourceId(texture),
      colorSpace,
      transform?.getTexCoord() ?? info.getTexCoord(),
      info.getWrapS(),
      info.getWrapT(),
      info.getMagFilter(),
      transform ? [...transform.getOffset(), transform.getRotation(), ...transform.getScale()].join(',') : '',
    ].join('|');
    const cached = this.textures.get(key);
    if (cached) return cached;
    // Variants (colour space, sampler, transform) share one image source.
    const first = this.sources.get(texture);
    const out = first ? first.clone() : new THREE.DataTexture(image.data, image.widthPx, image.heightPx, THREE.RGBAFormat, THREE.UnsignedByteType);
    if (!first) this.sources.set(texture, out);
    out.flipY = false;
    out.colorSpace = colorSpace;
    out.wrapS = WRAP[info.getWrapS()] ?? THREE.RepeatWrapping;
    out.wrapT = WRAP[info.getWrapT()] ?? THREE.RepeatWrapping;
    out.magFilter = info.getMagFilter() === 9728 ? THREE.NearestFilter : THREE.LinearFilter;
    out.minFilter = THREE.LinearMipmapLinearFilter;
    out.generateMipmaps = true;
    out.channel = transform?.getTexCoord() ?? info.getTexCoord();
    if (transform) {
      // KHR_texture_transform: uv' = T * R * S * uv, set as an explicit matrix (three's offset/repeat/rotation compose S*R).
      const [tx, ty] = transform.getOffset();
      const [sx, sy] = transform.getScale();
      const r = transform.getRotation();
      const c = Math.cos(r);
      const s = Math.sin(r);
      out.matrixAutoUpdate = false;
      out.matrix.set(c * sx, s * sy, tx, -s * sx, c * sy, ty, 0, 0, 1);
    }
    out.needsUpdate = true;
    this.textures.set(key, out);
    return out;
  }

  private sourceId(texture: Texture): number {
    let id = this.sourceIds.get(texture);
    if (id === undefined) this.sourceIds.set(texture, (id = this.sourceIds.size));
    return id;
  }

  /** The node material for a glTF material (null: the glTF default material). */
  material(source: Material | null, options: MaterialOptions): ProductMaterial {
    const key = `${source ? this.materialId(source) : 'default'}|${options.hasTangents}|${options.hasVertexColors}`;
    const cached = this.materials.get(key);
    if (cached) return cached;
    const material = source ? this.convert(source, options) : new THREE.MeshStandardNodeMaterial({ color: 0xffffff, metalness: 1, roughness: 1 });
    this.materials.set(key, material);
    return material;
  }

  private materialId(material: Material): number {
    let id = this.materialIds.get(material);
    if (id === undefined) this.materialIds.set(material, (id = this.materialIds.size));
    return id;
  }

  private convert(source: Material, options: MaterialOptions): ProductMaterial {
    const sg = source.getExtension<PBRSpecularGlossiness>('KHR_materials_pbrSpecularGlossiness');
    const [r, g, b, a] = sg ? sg.getDiffuseFactor() : source.getBaseColorFactor();
    const map = sg
      ? this.texture(sg.getDiffuseTexture(), sg.getDiffuseTextureInfo(), THREE.SRGBColorSpace)
      : this.texture(source.getBaseColorTexture(), source.getBaseColorTextureInfo(), THREE.SRGBColorSpace);
    const common = {
      name: source.getName(),
      color: new THREE.Color().setRGB(r, g, b, THREE.LinearSRGBColorSpace),
      opacity: a,
      map,
      vertexColors: options.hasVertexColors,
      side: source.getDoubleSided() ? THREE.DoubleSide : THREE.FrontSide,
    };
    let material: ProductMaterial;
    if (source.getExtension('KHR_materials_unlit')) {
      material = new THREE.MeshBasicNodeMaterial(common);
    } else {
      const physical = PHYSICAL_MATERIAL_EXTENSIONS.some((name) => source.getExtension(name));
      const pbr = physical ? new THREE.MeshPhysicalNodeMaterial(common) : new THREE.MeshStandardNodeMaterial(common);
      this.applyCore(pbr, source, options);
      if (pbr instanceof THREE.MeshPhysicalNodeMaterial) this.applyPhysical(pbr, source, options);
      material = pbr;
    }
    const alphaMode = source.getAlphaMode();
    if (alphaMode === 'BLEND') {
      material.transparent = true;
      material.depthWrite = false;
    } else if (alphaMode === 'MASK') {
      material.alphaTest = source.getAlphaCutoff();
    } else {
      material.transparent = false;
      material.opacity = 1;
    }
    return material;
  }

  private applyCore(material: THREE.MeshStandardNodeMaterial, source: Material, options: MaterialOptions): void {
    const sg = source.getExtension<PBRSpecularGlossiness>('KHR_materials_pbrSpecularGlossiness');
    if (sg) {
      this.warnOnce(`compositor: material "${source.getName()}" uses specular-glossiness, approximated as metallic-roughness.`);
      material.metalness = 0;
      material.roughness = 1 - sg.getGlossinessFactor();
    } else {
      material.metalness = source.getMetallicFactor();
      material.roughness = source.getRoughnessFactor();
      const mr = this.texture(source.getMetallicRoughnessTexture(), source.getMetallicRoughnessTextureInfo(), THREE.NoColorSpace);
      material.metalnessMap = mr;
      material.roughnessMap = mr;
    }
    const normalMap = this.texture(source.getNormalTexture(), source.getNormalTextureInfo(), THREE.NoColorSpace);
    if (normalMap) {
      material.normalMap = normalMap;
      const scale = source.getNormalScale();
      material.normalScale = new THREE.Vector2(scale, options.hasTangents ? scale : -scale);
    }
    const ao = this.texture(source.getOcclusionTexture(), source.getOcclusionTextureInfo(), THREE.NoColorSpace);
    if (ao) {
      material.aoMap = ao;
      material.aoMapIntensity = source.getOcclusionStrength();
    }
    const [er, eg, eb] = source.getEmissiveFactor();
    material.emissive = new THREE.Color().setRGB(er, eg, eb, THREE.LinearSRGBColorSpace);
    material.emissiveMap = this.texture(source.getEmissiveTexture(), source.getEmissiveTextureInfo(), THREE.SRGBColorSpace);
    material.emissiveIntensity = source.getExtension<EmissiveStrength>('KHR_materials_emissive_strength')?.getEmissiveStrength() ?? 1;
  }

  private applyPhysical(material: THREE.MeshPhysicalNodeMaterial, source: Material, options: MaterialOptions): void {
    const linear = THREE.NoColorSpace;
    const clearcoat = source.getExtension<Clearcoat>('KHR_materials_clearcoat');
    if (clearcoat) {
      material.clearcoat = clearcoat.getClearcoatFactor();
      material.clearcoatMap = this.texture(clearcoat.getClearcoatTexture(), clearcoat.getClearcoatTextureInfo(), linear);
      material.clearcoatRoughness = clearcoat.getClearcoatRoughnessFactor();
      material.clearcoatRoughnessMap = this.texture(clearcoat.getClearcoatRoughnessTexture(), clearcoat.getClearcoatRoughnessTextureInfo(), linear);
      const normal = this.texture(clearcoat.getClearcoatNormalTexture(), clearcoat.getClearcoatNormalTextureInfo(), linear);
      if (normal) {
        const scale = clearcoat.getClearcoatNormalScale();
        material.clearcoatNormalMap = normal;
        material.clearcoatNormalScale = new THREE.Vector2(scale, options.hasTangents ? scale : -scale);
      }
    }
    const transmission = source.getExtension<Transmission>('KHR_materials_transmission');
    if (transmission) {
      material.transmission = transmission.getTransmissionFactor();
      material.transmissionMap = this.texture(transmission.getTransmissionTexture(), transmission.getTransmissionTextureInfo(), linear);
    }
    const volume = source.getExtension<Volume>('KHR_materials_volume');
    if (volume) {
      material.thickness = volume.getThicknessFactor();
      material.thicknessMap = this.texture(volume.getThicknessTexture(), volume.getThicknessTextureInfo(), linear);
      material.attenuationDistance = volume.getAttenuationDistance();
      const [ar, ag, ab] = volume.getAttenuationColor();
      material.attenuationColor = new THREE.Color().setRGB(ar, ag, ab, THREE.LinearSRGBColorSpace);
    }
    const ior = source.getExtension<IOR>('KHR_materials_ior');
    if (ior) material.ior = Math.min(2.333, Math.max(1, ior.getIOR() || 1.5));
    const specular = source.getExtension<Specular>('KHR_materials_specular');
    if (specular) {
      material.specularIntensity = specular.getSpecularFactor();
      material.specularIntensityMap = this.texture(specular.getSpecularTexture(), specular.getSpecularTextureInfo(), linear);
      const [sr, sg, sb] = specular.getSpecularColorFactor();
      material.specularColor = new THREE.Color().setRGB(sr, sg, sb, THREE.LinearSRGBColorSpace);
      material.specularColorMap = this.texture(specular.getSpecularColorTexture(), specular.getSpecularColorTextureInfo(), THREE.SRGBColorSpace);
    }
    const sheen = source.getExtension<Sheen>('KHR_materials_sheen');
    if (sheen) {
      const [shr, shg, shb] = sheen.getSheenColorFactor();
      material.sheen = 1;
      material.sheenColor = new THREE.Color().setRGB(shr, shg, shb, THREE.LinearSRGBColorSpace);
      material.sheenColorMap = this.texture(sheen.getSheenColorTexture(), sheen.getSheenColorTextureInfo(), THREE.SRGBColorSpace);
      material.sheenRoughness = sheen.getSheenRoughnessFactor();
      material.sheenRoughnessMap = this.texture(sheen.getSheenRoughnessTexture(), sheen.getSheenRoughnessTextureInfo(), linear);
    }
    const iridescence = source.getExtension<Iridescence>('KHR_materials_iridescence');
    if (iridescence) {
      material.iridescence = iridescence.getIridescenceFactor();
      material.iridescenceMap = this.texture(iridescence.getIridescenceTexture(), iridescence.getIridescenceTextureInfo(), linear);
      material.iridescenceIOR = iridescence.getIridescenceIOR();
      material.iridescenceThicknessRange = [iridescence.getIridescenceThicknessMinimum(), iridescence.getIridescenceThicknessMaximum()];
      material.iridescenceThicknessMap = this.texture(iridescence.getIridescenceThicknessTexture(), iridescence.getIridescenceThicknessTextureInfo(), linear);
    }
    const anisotropy = source.getExtension<Anisotropy>('KHR_materials_anisotropy');
    if (anisotropy) {
      material.anisotropy = anisotropy.getAnisotropyStrength();
      material.anisotropyRotation = anisotropy.getAnisotropyRotation();
      material.anisotropyMap = this.texture(anisotropy.getAnisotropyTexture(), anisotropy.getAnisotropyTextureInfo(), linear);
    }
    const dispersion = source.getExtension<Dispersion>('KHR_materials_dispersion');
    if (dispersion) material.dispersion = dispersion.getDispersion();
  }

  /** Frees every GPU texture and material made here. */
  dispose(): void {
    for (const texture of this.textures.values()) texture.dispose();
    for (const material of this.materials.values()) material.dispose();
    this.textures.clear();
    this.materials.clear();
  }
}
