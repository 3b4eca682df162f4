import type { Model } from '../../model/model.js';
import { fail, startApp } from './app.js';
import { LocalBackend } from './local-backend.js';
import { ServerBackend } from './server-backend.js';
import { dropZone, openAnother } from './ui/drop.js';

/**
 * The served viewer: the server's models, or (with none) files dropped on the page and read here; more
 * files can be opened beside the first without reloading (each becomes another model of the page).
 */
async function boot(): Promise<void> {
  const server = await ServerBackend.connect().catch(() => undefined);
  if (server && server.models().length > 0) {
    startApp(server);
    return;
  }
  const backend = new LocalBackend('browser', []);
  const another = openAnother((model: Model) => {
    const id = backend.add(model);
    startApp(backend, another, { model: id });
  });
  dropZone(document.getElementById('app')!, (model: Model) => {
    backend.add(model);
    startApp(backend, another);
  });
}

boot().catch(fail);
