import { describe, expect, it } from 'vitest';
import { heldJsonBody } from '../../src/http/held-json.ts';

describe('heldJsonBody', () => {
  it('sends newlines while the value is pending, then the JSON; the whole body parses as that value', async () => {
    let resolve!: (value: unknown) => void;
    const value = new Promise((r) => {
      resolve = r;
    });
    const reader = heldJsonBody(value, 5).getReader();
    const decoder = new TextDecoder();
    let text = '';
    // Wait for a heartbeat before the value is known.
    while (!text.includes('\n')) text += decoder.decode((await reader.read()).value);
    resolve({ id: 'resp_1', status: 'completed', text: 'é\n' });
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += decoder.decode(chunk.value);
    }
    expect(text.trimStart()).toBe('{"id":"resp_1","status":"completed","text":"é\\n"}');
    expect(JSON.parse(text)).toEqual({ id: 'resp_1', status: 'completed', text: 'é\n' });
  });

  it('stops when the reader cancels, and errors the body when the value fails', async () => {
    let resolve!: (value: unknown) => void;
    const cancelled = heldJsonBody(new Promise((r) => (resolve = r)), 5);
    await cancelled.cancel();
    resolve({ late: true });
    const failing = heldJsonBody(Promise.reject(new Error('bus down')), 5).getReader();
    await expect(failing.read()).rejects.toThrow('bus down');
  });
});
