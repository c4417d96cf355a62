/**
 * Finds a secret in text the way a consumer could get it back: raw, JSON-unescaped (`\u00xx`,
 * `\/`), percent-decoded, base64 (standard or URL alphabet) or hex, also in combination
 * (base64 inside a JSON string, percent inside JSON…).
 */

const JSON_ESCAPE = /\\u([0-9a-fA-F]{4})|\\(["\\/bfnrt])/g;
const SIMPLE: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const PERCENT = /%([0-9a-fA-F]{2})/g;
const BASE64_RUN = /[A-Za-z0-9+/_-]{12,}={0,2}/g;
const HEX_RUN = /(?:[0-9a-fA-F]{2}){8,}/g;

function jsonUnescape(text: string): string {
  return text.replace(JSON_ESCAPE, (_, hex: string | undefined, simple: string | undefined) =>
    hex !== undefined ? String.fromCharCode(Number.parseInt(hex, 16)) : (SIMPLE[simple as string] ?? ''),
  );
}

function percentDecode(text: string): string {
  return text.replace(PERCENT, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

function base64Decodings(text: string): string[] {
  return [...text.matchAll(BASE64_RUN)].map((m) => Buffer.from(m[0].replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('latin1'));
}

function hexDecodings(text: string): string[] {
  return [...text.matchAll(HEX_RUN)].map((m) => Buffer.from(m[0], 'hex').toString('latin1'));
}

/** Every readable form of `text` a consumer could produce; the secret must be in none. */
function decodedForms(text: string): { form: string; text: string }[] {
  const layers = [
    { form: 'raw', text },
    { form: 'json-unescaped', text: jsonUnescape(text) },
  ];
  layers.push(...layers.map((l) => ({ form: `${l.form}+percent-decoded`, text: percentDecode(l.text) })));
  const out = [...layers];
  for (const layer of layers) {
    for (const decoded of base64Decodings(layer.text)) out.push({ form: `${layer.form}+base64`, text: decoded });
    for (const decoded of hexDecodings(layer.text)) out.push({ form: `${layer.form}+hex`, text: decoded });
  }
  return out;
}

/** The first form in which `secret` can be read back from `text`, or null. */
export function findLeak(text: string, secret: string): string | null {
  if (text === '') return null;
  for (const { form, text: decoded } of decodedForms(text)) if (decoded.includes(secret)) return form;
  return null;
}
