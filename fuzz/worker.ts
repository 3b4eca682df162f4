/**
 * One fuzz worker (a child process): for each case the parent sends, opens the model, reads every
 * weight and every tensor of training state, builds the call graph of its architecture, closes it, and
 * answers with the outcome. A typed error (ConvscopeError) with a fit message is "typed error"; anything
 * else thrown is "internal error". Crashes, hangs and memory are judged by the parent, from outside.
 */
import { ConvscopeError, openModel } from '../src/index.js';
import { warmUpHdf5 } from '../src/io/hdf5-isolated.js';
import { messageProblem } from './classify.js';

export interface CaseRequest {
  id: number;
  path: string;
}
export interface CaseReply {
  id: number;
  outcome: 'ok' | 'typed error' | 'internal error';
  detail?: string;
}

async function run(req: CaseRequest): Promise<CaseReply> {
  try {
    const model = await openModel(req.path);
    try {
      for (const layer of model.layers) for (const weight of layer.weights) await weight.read();
      for (const weight of model.trainingState ?? []) await weight.read();
      model.callGraph?.();
    } finally {
      model.close();
    }
    return { id: req.id, outcome: 'ok' };
  } catch (e) {
    if (e instanceof ConvscopeError) {
      const problem = messageProblem(e.message);
      if (!problem) return { id: req.id, outcome: 'typed error' };
      return { id: req.id, outcome: 'internal error', detail: `${e.name} message ${problem}: ${JSON.stringify(e.message.slice(0, 300))}` };
    }
    const err = e as Error;
    return { id: req.id, outcome: 'internal error', detail: `${err?.name ?? typeof e}: ${String(err?.message ?? e).slice(0, 300)} ${String(err?.stack ?? '').split('\n').slice(1, 4).join(' | ')}` };
  }
}

// A case that broke the HDF5 engine leaves a fresh one to start: that happens before the next case's
// clock starts (the parent times a case from 'started').
process.on('message', (req: CaseRequest) => {
  void warmUpHdf5()
    .then(() => process.send!({ id: req.id, started: true }))
    .then(() => run(req))
    .then((reply) => process.send!(reply));
});
// The HDF5 engine's thread is started before the first case, so no case's time limit pays for it.
await warmUpHdf5();
process.send!({ ready: true });
