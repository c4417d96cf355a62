import { expect, it } from 'vitest';
import { findDecoded } from '../support/decode.ts';

/** A relay serving `replicate` with `token` as REPLICATE_API_TOKEN, against a simulator that takes only it; its API key and the lines it logged so far. */
export interface ReplicateLeakTarget {
  url: string;
  token: string;
  apiKey: string;
  logs(): string[];
}

interface Seen {
  what: string;
  status: number;
  text: string;
}

/**
 * REPLICATE_API_TOKEN in no answer, frame, header or log line, raw or decoded, whatever the
 * simulator echoes (`--sim-echo-token` puts it into log lines and errors), on every path of the profile.
 */
export function replicateTokenLeakScenarios(t: () => ReplicateLeakTarget): void {
  it('replicate: REPLICATE_API_TOKEN never leaves the gateway, whatever the upstream echoes', async () => {
    const seen: Seen[] = [];
    const call = async (what: string, url: string, init: RequestInit = {}, auth = true) => {
      const headers: Record<string, string> = { 'Content-Type': 'application/json', ...(init.headers as Record<string, string>) };
      if (auth) headers.Authorization = `Bearer ${t().apiKey}`;
      const response = await fetch(url.startsWith('http') ? url : `${t().url}${url}`, { ...init, headers });
      const text = await response.text();
      seen.push({ what, status: response.status, text: `${JSON.stringify([...response.headers])}\n${text}` });
      return { status: response.status, text };
    };
    const create = (what: string, model: string, prompt: string, headers: Record<string, string> = {}) =>
      call(what, `/replicate/v1/models/${model}/predictions`, { method: 'POST', body: JSON.stringify({ input: { prompt } }), headers });
    const echo = '--sim-echo-token --sim-steps 2 --sim-interval 5';
    /** Reads a prediction's drop-in and uniform streams to their end, and its stored prediction. */
    const follow = async (what: string, text: string) => {
      const { id, urls } = JSON.parse(text) as { id: string; urls: { stream: string } };
      await call(`stream ${what}`, urls.stream, {}, false);
      await call(`uniform ${what}`, `/v1/jobs/replicate/${id}/stream`);
      await call(`get ${what}`, `/replicate/v1/predictions/${id}`);
      return id;
    };

    for (const [model, outcome] of [
      ['meta/llama', 'succeeded'],
      ['meta/llama', 'failed'],
      ['acme/flux', 'succeeded'],
      ['acme/flux', 'failed'],
    ] as const) {
      const what = `${model} ${outcome}`;
      const id = await follow(what, (await create(`create ${what}`, model, `a --sim-outcome ${outcome} ${echo}`)).text);
      await call(`cancel ${what}`, `/replicate/v1/predictions/${id}/cancel`, { method: 'POST' });
    }
    await create('waited', 'acme/flux', `w ${echo}`, { Prefer: 'wait=10' });
    for (const status of [400, 401, 402, 422, 429, 500, 503])
      await create(`reject ${status}`, 'acme/flux', `b --sim-status ${status} --sim-echo-token`);
    await follow('garbage', (await create('create garbage', 'meta/llama', `c --sim-garbage ${echo}`)).text);
    await follow('dropped', (await create('create dropped', 'meta/llama', `d --sim-drop-after 1 ${echo}`)).text);
    await call('unknown prediction', '/replicate/v1/predictions/nosuchprediction');
    const byVersion = await call('by version', '/replicate/v1/predictions', {
      method: 'POST',
      body: JSON.stringify({ version: 'llm-v1', input: { prompt: echo } }),
    });
    await follow('by version', byVersion.text);

    // Secured: a create needs the API key, a prediction's stream its token (which urls.stream carries).
    const anonymous = await call(
      'create without a key',
      '/replicate/v1/models/acme/flux/predictions',
      { method: 'POST', body: '{}' },
      false,
    );
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.text)).toMatchObject({ detail: expect.any(String) });
    const streamOf = (what: string) => seen.find((s) => s.what === what)?.status;
    expect(streamOf('stream meta/llama succeeded')).toBe(200);
    const id = (
      JSON.parse(
        seen
          .find((s) => s.what === 'create garbage')
          ?.text.split('\n')
          .slice(1)
          .join('\n') ?? '{}',
      ) as { id: string }
    ).id;
    expect((await call('stream without its token', `/replicate/v1/predictions/${id}/stream`, {}, false)).status).toBe(401);
    expect(seen.some((s) => s.what === 'reject 422' && s.status === 422)).toBe(true);
    expect(seen.some((s) => s.what === 'reject 401' && s.status === 502)).toBe(true);
    for (const { what, text } of seen) expect(findDecoded(text, t().token), what).toBeUndefined();
    expect(findDecoded(t().logs().join('\n'), t().token), 'logs').toBeUndefined();
    // The upstream did echo it: what the gateway received held the token, what it passed on did not.
    expect(seen.find((s) => s.what === 'get acme/flux failed')?.text).toMatch(/Authorization: Bearer \[redacted\]/);
  });
}
