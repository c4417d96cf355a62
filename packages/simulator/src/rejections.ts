const MESSAGES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  402: 'Subscription required: no active subscription for this account',
  429: 'Channel is busy or rate limited, wait and retry',
  500: 'Internal server error',
  596: 'Channel is waiting on moderation or CAPTCHA, resolve it and retry',
};

/** The error text for a `--sim-status` rejection; `--sim-echo-token` leaks the caller's token into it. */
export function rejectionMessage(status: number, echoedToken?: string): string {
  const message = MESSAGES[status] ?? `Simulated status ${status}`;
  return echoedToken === undefined ? message : `${message} (Authorization: Bearer ${echoedToken})`;
}
