import { fnv1a } from './hash.ts';
import { encodePng } from './png.ts';

/** Side of the 2x2 grid image (index 0), in pixels. */
export const GRID_SIZE = 128;
/** Side of each single tile (indexes 1-4), in pixels. */
export const TILE_SIZE = 64;
/** Highest image index a job has: 0 is the grid, 1-4 the tiles. */
export const LAST_IMAGE_INDEX = 4;

/** Renders the stand-in for a Midjourney CDN image: a gradient tile, or the grid of all four, coloured from `key`. */
export function renderImage(key: string, index: number): Uint8Array<ArrayBuffer> {
  const size = index === 0 ? GRID_SIZE : TILE_SIZE;
  const rgb = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const tile = index === 0 ? 1 + (y < size / 2 ? 0 : 2) + (x < size / 2 ? 0 : 1) : index;
      const shade = 0.55 + 0.45 * ((y % TILE_SIZE) / TILE_SIZE);
      const [r, g, b] = tileColour(key, tile);
      rgb.set([r * shade, g * shade, b * shade], (y * size + x) * 3);
    }
  }
  return encodePng(size, size, rgb);
}

function tileColour(key: string, tile: number): [number, number, number] {
  const hash = fnv1a(`${key}#${tile}`);
  return [hash & 0xff, (hash >>> 8) & 0xff, (hash >>> 16) & 0xff];
}
