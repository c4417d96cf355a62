// `npm run dev:worker`: the Worker in local workerd (wrangler dev) against the simulator.
// PORT (8787) for the Worker, SIM_PORT (8090) for the simulator; Durable Object state in .wrangler/state.
import { serve } from '@hono/node-server';
import { createSimulator } from '../simulator/simulator.ts';
import { startWorkerDev } from './worker-dev.ts';

const port = Number(process.env.PORT || 8787);
const simPort = Number(process.env.SIM_PORT || 8090);
const simulator = createSimulator({ token: 'dev', maxJobs: 100 });
const simServer = serve({ fetch: simulator.fetch, port: simPort, hostname: '127.0.0.1' });
const upstream = `http://127.0.0.1:${simPort}/v3/midjourney`;
console.log(`upstream simulator on ${upstream}`);

const worker = await startWorkerDev({
  port,
  persistTo: '.wrangler/state',
  vars: { UPSTREAM_URL: upstream, UPSTREAM_TOKEN: 'dev-token', GATEWAY_OPEN: 'true', LOG_LEVEL: process.env.LOG_LEVEL || 'info' },
  onOutput: (text) => process.stdout.write(text),
});
console.log(
  `sse-relay Worker on ${worker.url} (try: curl -N -X POST ${worker.url}/v3/midjourney/jobs/imagine -H 'Content-Type: application/json' -d '{"prompt":"a cat --sim-steps 3 --sim-interval 300"}')`,
);

const stop = () => {
  simulator.close();
  simServer.close();
  if ('closeAllConnections' in simServer) simServer.closeAllConnections();
  worker.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
