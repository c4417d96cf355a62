// `npm run dev:worker`: the Worker in local workerd (wrangler dev) against the simulator.
// PORT (8787) for the Worker, SIM_PORT (8090) for the simulator, Durable Object state in
// DEV_STATE_DIR (default .wrangler/state).
import { randomUUID } from 'node:crypto';
import { startSimulator } from '@sse-relay/simulator/node';
import { simulatorEnv } from '../src/node/recipe.ts';
import { startWorkerDev } from './worker-dev.ts';

const port = Number(process.env.PORT || 8787);
const simPort = Number(process.env.SIM_PORT || 8090);
// One token for both sides: the simulator accepts only it, the Worker sends it (and redacts it).
const token = `dev-${randomUUID()}`;
const simulator = await startSimulator({ token, maxJobs: 100, port: simPort });
const origin = simulator.url;
console.log(`upstream simulator on ${origin}`);

const worker = await startWorkerDev({
  port,
  persistTo: process.env.DEV_STATE_DIR || '.wrangler/state',
  // Every profile's vendor at the simulator: each profile's own variables, as the cluster's workers get them.
  vars: {
    ...simulatorEnv(origin, token),
    GATEWAY_OPEN: 'true',
    LOG_LEVEL: process.env.LOG_LEVEL || 'info',
  },
  onOutput: (text) => process.stdout.write(text),
});
console.log(
  `sse-relay Worker on ${worker.url} (try: curl -N -X POST ${worker.url}/v3/midjourney/jobs/imagine -H 'Content-Type: application/json' -d '{"prompt":"a cat --sim-steps 3 --sim-interval 300"}')`,
);

const stop = () => {
  Promise.all([simulator.close(), worker.close()]).then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
