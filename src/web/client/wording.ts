/**
 * The library's messages speak the CLI's language ("--channels mean", "--config arch.json"). In the page
 * the same choices are menus and files, so each message is said again in this page's own terms before
 * it is shown. A message naming something the page cannot do says what can.
 */
const REWRITES: [RegExp, string][] = [
  [/use --channels <c> for another one or --channels mean for their average/g, 'choose another channel, or "mean of channels", in the channels menu'],
  [/--channels <c>/g, 'the channels menu'],
  [/--channels (\w+)/g, 'channels: $1'],
  [/use a smaller --scale or fewer --filters/g, 'choose a smaller zoom'],
  [/; pick a layer with --layer/g, '; choose a layer in the list'],
  [/with --layer\b/g, 'in the layer list'],
  [/(?:give|pass) the architecture(?: \(model\.to_json\(\)\))? with --config arch\.json/g, '{architecture}'],
  [/(?:Give|Pass) the architecture(?: \(model\.to_json\(\)\))? with --config arch\.json/g, '{Architecture}'],
  [/the --config architecture/g, 'the architecture file'],
  [/with --layout <layer>=(\w+)/g, '{layout}'],
  [/--layout names layer/g, 'The layout given names layer'],
  [/give an array with --input <file\.npy>\.?/gi, 'this viewer shows activations for images only.'],
  [/see convscope report --max-weight-mb/g, 'make the report with a larger --max-weight-mb to include them'],
];

/** Where the page's models come from, which decides how a missing architecture or layout is given. */
type Surface = 'server' | 'browser' | 'report';
let surface: Surface = 'server';

export function setSurface(kind: Surface): void {
  surface = kind;
}

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
