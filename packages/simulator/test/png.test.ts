import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { GRID_SIZE, renderImage, TILE_SIZE } from '../src/images.ts';
import { adler32, crc32, encodePng } from '../src/png.ts';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Splits a PNG into chunks, checking each CRC. */
function chunks(png: Uint8Array): Array<{ type: string; data: Uint8Array }> {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: Array<{ type: string; data: Uint8Array }> = [];
  for (let offset = 8; offset < png.length; ) {
    const length = view.getUint32(offset);
    const typed = png.subarray(offset + 4, offset + 8 + length);
    expect(view.getUint32(offset + 8 + length)).toBe(crc32(typed));
    out.push({ type: new TextDecoder().decode(typed.subarray(0, 4)), data: typed.subarray(4) });
    offset += 12 + length;
  }
  return out;
}

describe('png', () => {
  it('computes the reference checksums', () => {
    expect(crc32(new TextEncoder().encode('IEND'))).toBe(0xae426082);
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(adler32(new TextEncoder().encode('Wikipedia'))).toBe(0x11e60398);
  });

  it('encodes a PNG that zlib can inflate back to the scanlines', () => {
    const rgb = Uint8Array.from({ length: 3 * 2 * 3 }, (_, i) => i * 10);
    const png = encodePng(3, 2, rgb);
    expect([...png.subarray(0, 8)]).toEqual(SIGNATURE);
    const parts = chunks(png);
    expect(parts.map((p) => p.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    const ihdr = new DataView(parts[0]!.data.buffer, parts[0]!.data.byteOffset);
    expect([ihdr.getUint32(0), ihdr.getUint32(4), ihdr.getUint8(8), ihdr.getUint8(9)]).toEqual([3, 2, 8, 2]);
    const raw = inflateSync(parts[1]!.data);
    expect([...raw]).toEqual([0, ...rgb.subarray(0, 9), 0, ...rgb.subarray(9)]);
  });

  it('splits large images over several stored deflate blocks', () => {
    const size = 200; // 200 rows of 601 bytes: more than one 65535-byte block
    const rgb = Uint8Array.from({ length: size * size * 3 }, (_, i) => i % 251);
    const idat = chunks(encodePng(size, size, rgb)).find((p) => p.type === 'IDAT')!;
    expect(inflateSync(idat.data).length).toBe(size * (size * 3 + 1));
  });

  it('renders the grid and tiles at their advertised sizes, deterministically', () => {
    for (const [index, size] of [
      [0, GRID_SIZE],
      [1, TILE_SIZE],
      [4, TILE_SIZE],
    ] as const) {
      const png = renderImage('job', index);
      const ihdr = chunks(png)[0]!.data;
      expect(new DataView(ihdr.buffer, ihdr.byteOffset).getUint32(0)).toBe(size);
    }
    expect(renderImage('job', 2)).toEqual(renderImage('job', 2));
    expect(renderImage('job', 2)).not.toEqual(renderImage('other', 2));
  });
});
