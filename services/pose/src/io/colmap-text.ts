import { VaneliaError } from '@vanelia/runtime';
import { colmapModelByName, type ColmapCamera, type ColmapImage, type ColmapPoint3D } from './colmap-model';

function invalid(file: string, line: number, sentence: string): VaneliaError {
  return new VaneliaError('pose', 'INVALID_COLMAP', `COLMAP ${file} line ${line}: ${sentence}.`);
}

/** Non-comment, non-empty lines with their 1-based line numbers. */
function dataLines(text: string): { n: number; fields: string[]; raw: string }[] {
  return text
    .split(/\r?\n/)
    .map((raw, i) => ({ n: i + 1, raw, fields: raw.trim().split(/\s+/) }))
    .filter((l) => l.raw.trim().length > 0 && !l.raw.trim().startsWith('#'));
}

function numbers(file: string, line: number, fields: string[]): number[] {
  const out = fields.map(Number);
  if (out.some((x) => !Number.isFinite(x))) throw invalid(file, line, `expected numbers, got "${fields.join(' ')}"`);
  return out;
}

/** cameras.txt: CAMERA_ID MODEL WIDTH HEIGHT PARAMS[]. */
export function parseColmapCamerasText(text: string): ColmapCamera[] {
  return dataLines(text).map(({ n, fields }) => {
    if (fields.length < 4) throw invalid('cameras.txt', n, 'a camera needs CAMERA_ID MODEL WIDTH HEIGHT PARAMS');
    const model = colmapModelByName(fields[1]);
    const [id, widthPx, heightPx] = numbers('cameras.txt', n, [fields[0], fields[2], fields[3]]);
    const params = numbers('cameras.txt', n, fields.slice(4));
    if (params.length !== model.params) throw invalid('cameras.txt', n, `${model.name} takes ${model.params} parameters, got ${params.length}`);
    return { id, model: model.name, widthPx, heightPx, params };
  });
}

/** images.txt: two lines an image (pose line, then keypoints X Y POINT3D_ID …; the second may be empty). */
export function parseColmapImagesText(text: string): ColmapImage[] {
  const lines = text.split(/\r?\n/);
  const images: ColmapImage[] = [];
  let i = 0;
  while (i < lines.length) {
    const raw = lines[i].trim();
    if (raw.length === 0 || raw.startsWith('#')) {
      i++;
      continue;
    }
    const fields = raw.split(/\s+/);
    if (fields.length < 10) throw invalid('images.txt', i + 1, 'an image needs IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME');
    const v = numbers('images.txt', i + 1, fields.slice(0, 9));
    const pointsLine = (lines[i + 1] ?? '').trim();
    const pts = pointsLine.length > 0 && !pointsLine.startsWith('#') ? numbers('images.txt', i + 2, pointsLine.split(/\s+/)) : [];
    if (pts.length % 3 !== 0) throw invalid('images.txt', i + 2, 'keypoints come as X Y POINT3D_ID triples');
    const points2d = new Float64Array((pts.length / 3) * 2);
    const point3dIds: number[] = [];
    for (let k = 0; k < pts.length / 3; k++) {
      points2d[2 * k] = pts[3 * k];
      points2d[2 * k + 1] = pts[3 * k + 1];
      point3dIds.push(pts[3 * k + 2]);
    }
    images.push({
      id: v[0],
      qvec: [v[1], v[2], v[3], v[4]],
      tvec: [v[5], v[6], v[7]],
      cameraId: v[8],
      name: fields.slice(9).join(' '),
      points2d,
      point3dIds,
    });
    i += 2;
  }
  return images;
}

/** points3D.txt: POINT3D_ID X Y Z R G B ERROR TRACK[] (IMAGE_ID POINT2D_IDX pairs). */
export function parseColmapPointsText(text: string): ColmapPoint3D[] {
  return dataLines(text).map(({ n, fields }) => {
    const v = numbers('points3D.txt', n, fields);
    if (v.length < 8 || (v.length - 8) % 2 !== 0) throw invalid('points3D.txt', n, 'a point needs ID X Y Z R G B ERROR and (IMAGE_ID, POINT2D_IDX) pairs');
    return { id: v[0], xyz: [v[1], v[2], v[3]], rgb: [v[4], v[5], v[6]], error: v[7], track: v.slice(8) };
  });
}

export function formatColmapCamerasText(cameras: readonly ColmapCamera[]): string {
  const lines = ['# Camera list with one line of data per camera:', '#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]', `# Number of cameras: ${cameras.length}`];
  for (const c of cameras) lines.push([c.id, c.model, c.widthPx, c.heightPx, ...c.params].join(' '));
  return lines.join('\n') + '\n';
}

export function formatColmapImagesText(images: readonly ColmapImage[]): string {
  const lines = [
    '# Image list with two lines of data per image:',
    '#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME',
    '#   POINTS2D[] as (X, Y, POINT3D_ID)',
    `# Number of images: ${images.length}`,
  ];
  for (const im of images) {
    lines.push([im.id, ...im.qvec, ...im.tvec, im.cameraId, im.name].join(' '));
    const pts: number[] = [];
    im.point3dIds.forEach((id, k) => pts.push(im.points2d[2 * k], im.points2d[2 * k + 1], id));
    lines.push(pts.join(' '));
  }
  return lines.join('\n') + '\n';
}

export function formatColmapPointsText(points: readonly ColmapPoint3D[]): string {
  const lines = ['# 3D point list with one line of data per point:', '#   POINT3D_ID, X, Y, Z, R, G, B, ERROR, TRACK[] as (IMAGE_ID, POINT2D_IDX)', `# Number of points: ${points.length}`];
  for (const p of points) lines.push([p.id, ...p.xyz, ...p.rgb, p.error, ...p.track].join(' '));
  return lines.join('\n') + '\n';
}
