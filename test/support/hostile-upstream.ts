import { type FakeUpstream, sseResponse, startFakeUpstream } from './fake-upstream.ts';
import { hostileJsonStrings, withKey } from './security.ts';

/** What a client received from one call. */
export interface Captured {
  what: string;
  status: number;
  headers: string;
  body: string;
}

/**
 * An upstream that echoes `secrets` in every encoding (JSON escapes, base64, percent, hex) in
 * every string of every event and reply, and in a key. Prompt `reply` answers a plain JSON 200,
 * `reject` a 400 whose error hides the first secret; anything else streams 4 events.
 */
export function startHostileUpstream(secrets: string[]): Promise<FakeUpstream> {
  const [first = ''] = secrets;
  const hide = hostileJsonStrings(first);
  const echo = `[${secrets.flatMap(hostileJsonStrings).join(',')}]`;
  const job = (jobid: string, status: string) =>
    `{"jobid":"${jobid}","verb":"imagine","status":"${status}","error":${hide[0]},"echo":${echo},${hide[2]}:1}`;
  let serial = 0;
  return startFakeUpstream(async (request, path) => {
    const json = (text: string, status = 200) => new Response(text, { status, headers: { 'Content-Type': 'application/json' } });
    if (request.method === 'POST') {
      const { prompt } = (await request.json()) as { prompt?: string };
      const jobid = `j${++serial}-${Date.now()}-hostile:midjourney`;
      if (prompt === 'reply') return json(job(jobid, 'created'));
      if (prompt === 'reject') return json(`{"error":${hide[3]},"echo":${echo}}`, 400);
      return sseResponse([
        `{"event":"initialized","message":${hide[1]},"jobId":"${jobid}","seq":0}`,
        `{"event":"midjourney_created","seq":1,"ts":"12:00:00.000","job":${job(jobid, 'created')}}`,
        `{"event":"midjourney_progress","seq":2,"ts":"12:00:00.001","job":${job(jobid, 'progress')}}`,
        `{"event":"midjourney_completed","seq":3,"ts":"12:00:00.002","job":${job(jobid, 'completed')}}`,
      ]);
    }
    if (path === '/jobs') return json(`{"jobs":${echo}}`);
    const jobid = decodeURIComponent(path.replace('/jobs/', ''));
    return json(job(jobid, request.method === 'DELETE' ? 'cancelled' : 'completed'));
  });
}

/** Every route against a relay in front of the hostile upstream, with the test API key; returns what it got back. */
export async function runHostileScenario(url: string): Promise<Captured[]> {
  const seen: Captured[] = [];
  async function call(what: string, path: string, init: RequestInit = {}) {
    const response = await fetch(`${url}${path}`, init);
    const captured = { what, status: response.status, headers: JSON.stringify([...response.headers]), body: await response.text() };
    seen.push(captured);
    return captured;
  }
  const create = (what: string, body: Record<string, unknown>) =>
    call(what, '/v3/midjourney/jobs/imagine', {
      method: 'POST',
      headers: withKey({ 'Content-Type': 'application/json' }),
      body: JSON.stringify(body),
    });
  const expectStatus = (captured: Captured, status: number) => {
    if (captured.status !== status) throw new Error(`${captured.what}: expected ${status}, got ${captured.status}`);
  };
  expectStatus(await create('stream', { prompt: 'stream' }), 200);
  const created = await create('stream:false', { prompt: 'snapshot', stream: false });
  expectStatus(created, 201);
  const { jobid, stream_url } = JSON.parse(created.body) as { jobid: string; stream_url: string };
  await call('subscribe', stream_url);
  await call('job from the relay', `/v3/midjourney/jobs/${encodeURIComponent(jobid)}`, { headers: withKey() });
  await call('job from upstream', '/v3/midjourney/jobs/j9-unknown:midjourney', { headers: withKey() });
  await call('list', '/v3/midjourney/jobs', { headers: withKey() });
  await call('delete', `/v3/midjourney/jobs/${encodeURIComponent(jobid)}`, { method: 'DELETE', headers: withKey() });
  expectStatus(await create('reply', { prompt: 'reply' }), 200);
  expectStatus(await create('reject', { prompt: 'reject' }), 400);
  return seen;
}

/** The `data:` payloads of SSE bodies, each as a browser's JSON.parse sees it (re-stringified). */
export function parsedFrames(seen: Captured[]): string[] {
  return seen
    .flatMap((c) => c.body.split('\n'))
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.stringify(JSON.parse(line.slice(6))));
}
