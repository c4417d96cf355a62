import { describe, expect, it } from 'vitest';
import { createUpstreamClient } from '../../../src/core/ingest/upstream.ts';

/** A client whose fetch records where each request went and with which credential. */
function recordingClient(origins?: readonly string[]) {
  const sent: Array<{ url: string; auth: string | null }> = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    sent.push({ url: String(input), auth: new Headers(init?.headers).get('Authorization') });
    return Response.json({ ok: true });
  };
  const client = createUpstreamClient(
    { authorization: (key) => ({ Authorization: `Bearer ${key}` }) },
    { baseUrl: 'http://127.0.0.1:9/vendor/v1', credential: 'secret-credential', fetch, ...(origins ? { origins } : {}) },
    (text) => text,
  );
  return { client, sent };
}

describe('the upstream client’s origins', () => {
  it('sends to the base URL’s own host under another path (a stand-in’s stream URL), and to the origins its endpoint names', async () => {
    const { client, sent } = recordingClient(['https://stream.example']);
    await client.send({ method: 'GET', origin: 'http://127.0.0.1:9', path: '/vendor/streaming/v1/p1' });
    await client.send({ method: 'GET', origin: 'https://stream.example', path: '/v1/p1' });
    expect(sent).toEqual([
      { url: 'http://127.0.0.1:9/vendor/streaming/v1/p1', auth: 'Bearer secret-credential' },
      { url: 'https://stream.example/v1/p1', auth: 'Bearer secret-credential' },
    ]);
  });

  it('refuses any other host before anything is sent', async () => {
    const { client, sent } = recordingClient();
    for (const origin of ['http://127.0.0.1:10', 'https://stream.example', 'http://localhost:9']) {
      await expect(client.send({ method: 'GET', origin, path: '/x' })).rejects.toThrow(/is not relayed by this gateway's configuration/);
    }
    expect(sent).toEqual([]);
  });
});
