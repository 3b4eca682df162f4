import type { Backend } from './backend.js';
import { clear, h, setStatus } from './dom.js';
import { activationsTab } from './ui/activations.js';
import { diffTab } from './ui/diff.js';
import { layersTab } from './ui/layers.js';

export function fail(e: unknown): void {
  setStatus((e as Error).message, 'error');
}

/** Builds the tabs a backend supports (layers; activations; diff with two models) and opens the first. */
export function startApp(backend: Backend): void {
  const app = document.getElementById('app')!;
  const tabs = document.getElementById('tabs')!;
  const models = backend.models();
  document.getElementById('model-title')!.textContent = models.map((m) => m.name).join(' → ');
  const views: [string, () => Promise<void> | void][] = [['layers', () => layersTab(app, backend)]];
  if (backend.canActivate()) views.push(['activations', () => activationsTab(app, backend, 0)]);
  if (models.length > 1) views.push(['diff', () => diffTab(app, backend)]);
  const buttons = views.map(([name, show]) =>
    h('button', {
      type: 'button',
      'data-tab': name,
      onclick: (e: Event) => {
        tabs.querySelectorAll('button').forEach((b) => b.classList.remove('active'));
        (e.currentTarget as HTMLElement).classList.add('active');
        setStatus('');
        Promise.resolve(show()).catch(fail);
      },
    }, name),
  );
  clear(tabs, ...buttons);
  buttons[0]!.click();
}
