import { describe, expect, it } from 'vitest';
import type { ScenarioTarget } from './target.ts';

/** Open mode (GATEWAY_OPEN=true) on every runtime: what a hostile page's browser sends starts no job. */
export function openModeScenarios(t: () => ScenarioTarget): void {
  const create = (headers: Record<string, string>) =>
    fetch(`${t().url}/v3/midjourney/jobs/imagine`, {
      method: 'POST',
      headers,
      body: '{"prompt":"open mode --sim-steps 1 --sim-interval 5","stream":false}',
    });

  describe('open mode refuses cross-site and simple requests', () => {
    it('a cross-site text/plain POST (Origin, Sec-Fetch-Site) gets 403 and starts no job', async () => {
      const before = (await t().simStats()).jobs;
      const response = await create({
        Origin: 'http://evil.example',
        'Sec-Fetch-Site': 'cross-site',
        'Sec-Fetch-Mode': 'no-cors',
        'Content-Type': 'text/plain;charset=UTF-8',
      });
      expect(response.status).toBe(403);
      expect(((await response.json()) as { code: string }).code).toBe('forbidden');
      expect((await create({ Origin: 'http://evil.example', 'Content-Type': 'application/json' })).status).toBe(403);
      expect((await create({ 'Content-Type': 'text/plain' })).status).toBe(415);
      expect((await t().simStats()).jobs).toBe(before);
    });

    it('a same-machine client with a JSON body is served', async () => {
      expect((await create({ 'Content-Type': 'application/json' })).status).toBe(201);
    });
  });
}
