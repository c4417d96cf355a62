import { Hono } from 'hono';
import { errorResponse } from './http.ts';
import { LAST_IMAGE_INDEX, renderImage } from './images.ts';
import type { StatsRecorder } from './stats.ts';

/** Dependencies of the simulator's own, unauthenticated routes. */
export interface SimRoutesOptions {
  stats: StatsRecorder;
  runningCount: () => number;
  /** Other vendors' stats, cleared by `POST /_sim/reset` too. */
  resets?: ReadonlyArray<() => void>;
}

/** `/_sim/*`: stats, reset (of every vendor), and the generated images that `imageUx` and `attachments` URLs point at. */
export function createSimRoutes(options: SimRoutesOptions): Hono {
  const app = new Hono();

  app.get('/stats', (c) => c.json(options.stats.snapshot(options.runningCount())));

  app.post('/reset', (c) => {
    options.stats.reset();
    for (const reset of options.resets ?? []) reset();
    return c.json(options.stats.snapshot(options.runningCount()));
  });

  app.get('/images/:key/:file', (c) => {
    const match = /^(\d)\.png$/.exec(c.req.param('file'));
    const index = Number(match?.[1] ?? NaN);
    if (!(index >= 0 && index <= LAST_IMAGE_INDEX)) return errorResponse(404, 'Image not found');
    return new Response(renderImage(c.req.param('key'), index), {
      headers: { 'Content-Type': 'image/png', 'Cache-Control': 'public, max-age=31536000, immutable' },
    });
  });

  return app;
}
