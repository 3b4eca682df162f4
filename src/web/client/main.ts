import type { Model } from '../../model/model.js';
import { fail, startApp } from './app.js';
import { LocalBackend } from './local-backend.js';
import { ServerBackend } from './server-backend.js';
import { dropZone } from './ui/drop.js';

/** The served viewer: the server's models, or (with none) a file dropped on the page and read here. */
async function boot(): Promise<void> {
  const server = await ServerBackend.connect().catch(() => undefined);
  if (server && server.models().length > 0) {
    startApp(server);
    return;
  }
  dropZone(document.getElementById('app')!, (model: Model) => startApp(new LocalBackend('browser', [model])));
}

boot().catch(fail);
