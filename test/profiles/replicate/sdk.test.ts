import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayReplicate } from '../../scenarios/sdk-replicate.ts';
import { type TestGateway, startTestGateway } from '../../support/gateway.ts';
import { until } from '../../support/until.ts';

// Node-only: a gateway of its own, drained under the client (the shared scenarios run in test/node/sdk-scenarios.test.ts).
let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ POLL_INTERVAL_MS: '30' });
});
afterAll(async () => {
  await gw?.close();
});

describe('the replicate client when the gateway ends its stream early', () => {
  it('throws on the stream-cut error instead of taking the close for the end; the prediction goes on', async () => {
    const replicate = gatewayReplicate(gw.url);
    const relay = gw.relays.get('replicate')!;
    const tokens: string[] = [];
    const reading = (async () => {
      for await (const event of replicate.stream('meta/llama-sim', { input: { prompt: 'long --sim-steps 400 --sim-interval 20' } })) {
        tokens.push(String(event.data));
      }
    })();
    await until(() => tokens.length >= 2, 'two tokens');
    void relay.drain(0);
    await expect(reading).rejects.toThrow(/stream cut: the gateway ended this stream before the prediction finished/);
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    expect(relay.counts().followed).toHaveLength(1);
  });
});
