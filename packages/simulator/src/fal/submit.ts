import type { Context } from 'hono';
import { readCreateBody } from '../request-body.ts';
import type { FalEnv } from './auth.ts';
import { parseFalScenario } from './directives.ts';
import { detailResponse, errorDetail, jsonResponse, rejectionResponse } from './errors.ts';
import type { FalService } from './service.ts';
import { submitAnswer } from './status.ts';

/** What a submit needs besides the request. */
export interface SubmitDeps {
  service: FalService;
  /** Origin for the answer's URLs instead of the request's. */
  publicOrigin?: string | undefined;
}

/**
 * `POST /{owner}/{app}[/{path}]`: 200 with `IN_QUEUE` and the request's URLs. Any JSON object is accepted, as
 * fal's queue does; the model judges the input later (a 422 at the result call). A body that is not a JSON
 * object is a 422 here (unconfirmed), bad directives a 400, `--sim-status` the chosen error, `--sim-busy N` a 429
 * while N requests are unfinished.
 */
export async function handleSubmit(c: Context<FalEnv>, appId: string, deps: SubmitDeps): Promise<Response> {
  const parsed = await readCreateBody(c.req.raw);
  if (!parsed.ok) return jsonResponse(422, { detail: [errorDetail(['body'], 'json_invalid', parsed.error)] });
  const input = parsed.body;
  const directives = parseFalScenario(typeof input.prompt === 'string' ? input.prompt : undefined);
  if (!directives.ok) return detailResponse(400, directives.error);
  const { scenario } = directives;
  const key = c.get('key');
  if (scenario.status !== undefined) return rejectionResponse(scenario.status, scenario.echoToken ? key : undefined);
  const { service } = deps;
  if (scenario.busy !== undefined && service.running() + service.queued() >= scenario.busy) return rejectionResponse(429);
  const origin = deps.publicOrigin ?? new URL(c.req.url).origin;
  const record = service.submit({ appId, input, scenario, key, origin });
  return jsonResponse(200, submitAnswer(record.run.view(), record.urls), { 'x-fal-request-id': record.run.requestId });
}
