import { BASELINE, FONT_FAMILY, FONT_PX, textWidth } from './font.js';
import { encodeRaster } from './scene-png.js';
import type { RGB, Scene, SceneItem } from './scene.js';

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function color(c: RGB): string {
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/** Base64 of bytes with the platform's btoa (Node >= 16 and browsers), in chunks to bound argument size. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}


function itemToSvg(item: SceneItem): string {
  switch (item.kind) {
    case 'rect':
      return `<rect x="${item.x}" y="${item.y}" width="${item.width}" height="${item.height}" fill="${color(item.fill)}"/>`;
    case 'image': {
      const png = encodeRaster({ width: item.width, height: item.height, data: item.pixels }, 'tiles');
      return (
        `<image x="${item.x}" y="${item.y}" width="${item.width}" height="${item.height}" style="image-rendering:pixelated" ` +
        `href="data:image/png;base64,${toBase64(png)}"/>`
      );
    }
    case 'text':
      // textLength: the layout was measured with the PNG's font metrics; the SVG text takes exactly that width.
      return (
        `<text x="${item.x}" y="${item.y + BASELINE}" text-anchor="${item.anchor}" textLength="${Math.max(1, textWidth(item.text))}" ` +
        `lengthAdjust="spacingAndGlyphs" fill="${color(item.color)}">${escapeXml(item.text)}</text>`
      );
  }
}

/** A standalone SVG document of the scene: raster parts as embedded PNG, every text as <text>. */
export function sceneToSvg(scene: Scene): string {
  const body = scene.items.map(itemToSvg).join('\n');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${scene.width}" height="${scene.height}" ` +
    `viewBox="0 0 ${scene.width} ${scene.height}" font-family="${FONT_FAMILY}, Verdana, sans-serif" font-size="${FONT_PX}px">\n` +
    `<title>${escapeXml(scene.title)}</title>\n` +
    `<rect width="100%" height="100%" fill="${color(scene.background)}"/>\n${body}\n</svg>\n`
  );
}
