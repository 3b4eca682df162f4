import type { Concept } from '../../model/errors.js';
import type { Note } from '../../model/model.js';

/*
 * Library errors and model notes name a concept in words ("the architecture JSON", "the channel mode")
 * and carry it; the page adds its own control for it: a menu, a file to drop, or, for a setting the page
 * has no control for, the command that opens the page with it.
 */

/** Where the page's models come from, which decides how a missing architecture or layout is given. */
type Surface = 'server' | 'browser' | 'report';
let surface: Surface = 'server';

export function setSurface(kind: Surface): void {
  surface = kind;
}

/** How the page's model is opened again with a setting the page has no control for (`options` are serve/report flags). */
const REOPEN: Record<Surface, (options: string) => string> = {
  server: (options) => `start the viewer as \`convscope serve <file> ${options}\``,
  browser: (options) => `serve the file with \`convscope serve <file> ${options}\``,
  report: (options) => `make the report with \`convscope report <file> ${options}\``,
};

const HOW: Record<Surface, { architecture: string; layout: string }> = {
  server: {
    architecture: 'open it with its architecture: start the viewer as `convscope serve <weights> --config arch.json` (arch.json from model.to_json())',
    layout: 'by starting the viewer with `convscope serve <file> --layout <layer>=conv_transpose`',
  },
  browser: {
    architecture: 'open it with its architecture: drop the model.to_json() file together with the weights file',
    layout: 'by serving the file with `convscope serve <file> --layout <layer>=conv_transpose`',
  },
  report: {
    architecture: 'make the report with `convscope report <weights> --config arch.json` (arch.json from model.to_json())',
    layout: 'by making the report with `convscope report <file> --layout <layer>=conv_transpose`',
  },
};

/** The page's control for each setting a library error points to (model/errors.ts Concept). */
function controlOf(concept: Concept): string {
  const how = HOW[surface];
  switch (concept) {
    case 'architecture':
      return how.architecture;
    case 'layout':
      return `set the layer's layout ${how.layout}`;
    case 'channels':
      return 'choose another entry in the channels menu';
    case 'tile-size':
      return 'choose a smaller zoom';
    case 'layer':
      return 'choose a layer in the list';
    case 'lambda':
      return `state it: ${REOPEN[surface]("--lambda <layer>='<expression in x>'")}`;
    case 'input-array':
      return 'this viewer shows activations for images only';
    case 'tensor-limit':
      return `to raise it, ${REOPEN[surface]('--max-tensor-mb <n>')}`;
    case 'inflate-ratio':
      return `to raise it, ${REOPEN[surface]('--max-inflate-ratio <n>')}`;
    case 'top':
      return 'set by `convscope examples --top <k>`';
    case 'samples':
      return 'set by `convscope attribute --samples <n> --noise <fraction>`';
    case 'weight-limit':
      return 'to include them, make the report with a larger `convscope report <file> --max-weight-mb <n>`';
    case 'preprocess':
      return 'choose another entry in the preprocessing menu';
    case 'resize':
      return 'choose another entry in the resize menu';
    case 'method':
      return 'set by `convscope attribute --method <name>`';
    case 'image':
      return surface === 'report' ? 'make the report with `convscope report <file> --image <file>` for another image' : 'choose another image';
    case 'port':
      return 'set by `convscope serve --port <n>`';
    case 'redis':
      return 'set by `convscope examples --redis <url>`';
    case 'snapshots':
      return 'written by `convscope train --watch <every>`';
    case 'data-set':
      return surface === 'report'
        ? 'make the report with `convscope report <file> --detects-data folder:<dir>`'
        : `to rank another, ${REOPEN[surface]('--examples-data folder:<dir>')}`;
  }
}

/** A sentence as this page says it: the library's words, then the page's control for the concept it points to. */
function withControl(text: string, concept: Concept | undefined): string {
  return concept ? `${text} (${controlOf(concept)})` : text;
}

/** An error as this page says it. */
export function viewerError(e: unknown): string {
  return withControl(e instanceof Error ? e.message : String(e), (e as { concept?: Concept } | null)?.concept);
}

/** A model's note as this page says it. */
export function viewerNote(note: Note): string {
  return withControl(note.text, note.concept);
}
