// The example's entry for tests and embedding: createApp(options) and `app`, the portal with its defaults (the
// demo policy file next to this file, memory sessions). Nothing here listens; main.ts is the runner.

import { createApp, type PortalApp } from './portal';

export {
  consoleLogger,
  createApp,
  safeReturnPath,
  SESSION_COOKIE,
  type PortalApp,
  type PortalOptions,
} from './portal';

/** The portal with its defaults. `app.close()` stops watching the policy file. */
export const app: PortalApp = createApp();
