import type { Concept } from '../../model/errors.js';

/**
 * The library's messages speak the CLI's language ("--channels mean", "--config arch.json"). In the page
 * the same choices are menus and files, so each message is said again in this page's own terms before
 * it is shown. A message naming something the page cannot do says what can.
 */
const REWRITES: [RegExp, string][] = [
  [/(?:give|pass) the architecture(?: \(model\.to_json\(\)\))? with --config arch\.json/g, '{architecture}'],
  [/(?:Give|Pass) the architecture(?: \(model\.to_json\(\)\))? with --config arch\.json/g, '{Architecture}'],
  [/with --layout <layer>=(\w+)/g, '{layout}'],
  [/see convscope report --max-weight-mb/g, 'make the report with a larger --max-weight-mb to include them'],
];

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
  }
}

/** An error as this page says it: the library's sentence in the page's terms, then the page's control for what it points to. */
export function viewerError(e: unknown): string {
  const message = viewerWording(e instanceof Error ? e.message : String(e));
  const concept = (e as { concept?: Concept } | null)?.concept;
  return concept ? `${message} (${controlOf(concept)})` : message;
}

/** A library message as this page says it. */
export function viewerWording(message: string): string {
  let out = message;
  for (const [pattern, replacement] of REWRITES) out = out.replace(pattern, replacement);
  const how = HOW[surface];
  return out
    .replace('{architecture}', how.architecture)
    .replace('{Architecture}', how.architecture[0]!.toUpperCase() + how.architecture.slice(1))
    .replace('{layout}', how.layout);
}
