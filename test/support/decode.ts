/**
 * Every way a consumer could decode a piece of received text, for leak checks: JSON string
 * escapes, percent-encoding, base64 (standard and URL-safe, any run, at each alignment) and hex.
 * Decodings are applied twice over (base64 inside a JSON string, and so on).
 */

const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');
const utf8 = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

function jsonUnescape(text: string): string {
  return text.replace(/\\(u[0-9a-fA-F]{4}|["\\/bfnrt])/g, (_, seq: string) => {
    if (seq[0] === 'u') return String.fromCharCode(Number.parseInt(seq.slice(1), 16));
    return ({ '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' } as Record<string, string>)[seq] ?? seq;
  });
}

function percentDecode(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (text[i] === '+') {
      bytes.push(0x20);
    } else {
      bytes.push(...Buffer.from(text[i] as string, 'utf8'));
    }
  }
  return utf8(Uint8Array.from(bytes));
}

function base64Decodings(text: string): string[] {
  const out: string[] = [];
  for (const run of text.match(/[A-Za-z0-9+/_-]{6,}/g) ?? []) {
    const standard = run.replace(/-/g, '+').replace(/_/g, '/');
    for (let offset = 0; offset < 4; offset++) {
      const bytes = Buffer.from(standard.slice(offset), 'base64');
      out.push(latin1(bytes), utf8(bytes));
    }
  }
  return out;
}

function hexDecodings(text: string): string[] {
  const out: string[] = [];
  for (const run of text.match(/[0-9a-fA-F]{8,}/g) ?? []) {
    for (let offset = 0; offset < 2; offset++) {
      const even = run.slice(offset, offset + ((run.length - offset) & ~1));
      out.push(utf8(Buffer.from(even, 'hex')));
    }
  }
  return out;
}

/** The text itself and everything it decodes to, two layers deep. */
export function decodings(text: string): string[] {
  let all = [text];
  for (let round = 0; round < 2; round++) {
    const next = new Set(all);
    for (const t of all) {
      next.add(jsonUnescape(t));
      next.add(percentDecode(t));
      for (const d of base64Decodings(t)) next.add(d);
      for (const d of hexDecodings(t)) next.add(d);
    }
    all = [...next];
  }
  return all;
}

/** The first decoding of `text` that contains `secret`, if any (for a readable failure). */
export function findDecoded(text: string, secret: string): string | undefined {
  return decodings(text).find((d) => d.includes(secret));
}
