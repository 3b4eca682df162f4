import type { GraphNode, ModelGraph } from '../../../views/graph-view.js';
import type { Backend } from '../backend.js';
import { clear, h } from '../dom.js';
import type { Router, ViewState } from '../state.js';

const SVG = 'http://www.w3.org/2000/svg';
const NODE_W = 190;
const NODE_H = 42;
const GAP_X = 28;
const GAP_Y = 36;
const ZOOMS = [0.25, 0.35, 0.5, 0.7, 0.85, 1, 1.25, 1.5, 2];

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

interface Placed {
  node: GraphNode;
  x: number;
  y: number;
}

/**
 * Layered layout of the layer DAG, top to bottom: a layer's rank is one more than its deepest input's;
 * within a rank layers are ordered by the mean position of their inputs (one sweep), which keeps the
 * two branches of a residual block side by side.
 */
function layout(nodes: readonly GraphNode[]): { placed: Placed[]; width: number; height: number } {
  const index = new Map(nodes.map((n, i) => [n.name, i]));
  const rank = new Array<number>(nodes.length).fill(0);
  // Relaxation in file order (already topological in Keras/ONNX); bounded, so a malformed cycle cannot hang.
  for (let pass = 0, changed = true; changed && pass < nodes.length; pass++) {
    changed = false;
    nodes.forEach((n, i) => {
      const r = n.inbound.reduce((m, name) => Math.max(m, (rank[index.get(name)!] ?? 0) + 1), 0);
      if (r !== rank[i]) {
        rank[i] = r;
        changed = true;
      }
    });
  }
  const rows: number[][] = [];
  nodes.forEach((_, i) => (rows[rank[i]!] ??= []).push(i));
  const slot = new Array<number>(nodes.length).fill(0);
  for (const row of rows) {
    if (!row) continue;
    const key = (i: number): number => {
      const ins = nodes[i]!.inbound.map((n) => slot[index.get(n)!]!);
      return ins.length ? ins.reduce((a, b) => a + b, 0) / ins.length : i;
    };
    row.sort((a, b) => key(a) - key(b) || a - b);
    row.forEach((i, k) => (slot[i] = k - (row.length - 1) / 2));
  }
  const widest = Math.max(1, ...rows.map((r) => r?.length ?? 0));
  const width = widest * (NODE_W + GAP_X) + GAP_X;
  const placed = nodes.map((node, i) => ({ node, x: width / 2 + slot[i]! * (NODE_W + GAP_X) - NODE_W / 2, y: GAP_Y / 2 + rank[i]! * (NODE_H + GAP_Y) }));
  return { placed, width, height: rows.length * (NODE_H + GAP_Y) + GAP_Y / 2 };
}

/** Distance between two lanes running side by side. */
const LANE_GAP = 8;

/** An edge that skips rows runs down a vertical lane at `x` from `top` to `bottom`. */
interface Lane {
  x: number;
  top: number;
  bottom: number;
}

/**
 * Lanes for the edges that skip rows (residual and dense connections), one per source: its edges to
 * later rows run down the same lane and leave it above each target, like a bus. A lane touches no box
 * of the rows it passes, and no lane of another source over the rows both pass (they would be drawn on
 * top of each other). Sources are taken top to bottom, each given the free x nearest its source and its
 * farthest target: a straight drop when there is room, else beside a box (up to three lanes share a
 * gap between boxes), else right of every box, which widens the drawing.
 */
function assignLanes(placed: readonly Placed[], at: ReadonlyMap<string, Placed>): Map<string, Lane> {
  const targets = new Map<string, Placed[]>();
  for (const p of placed) {
    for (const name of p.node.inbound) {
      const from = at.get(name);
      if (from && p.y - (from.y + NODE_H) > GAP_Y + 1) targets.set(name, [...(targets.get(name) ?? []), p]);
    }
  }
  const right = Math.max(...placed.map((q) => q.x + NODE_W)) + GAP_X / 2;
  const lanes = new Map<string, Lane>();
  const sources = [...targets.keys()].map((name) => at.get(name)!).sort((a, b) => a.y - b.y || a.x - b.x);
  for (const from of sources) {
    const ends = targets.get(from.node.name)!;
    const last = ends.reduce((a, b) => (b.y > a.y ? b : a));
    const top = from.y + NODE_H + GAP_Y;
    const bottom = last.y - GAP_Y;
    const between = placed.filter((q) => q.y > from.y && q.y < last.y);
    const taken = [...lanes.values()].filter((l) => l.top <= bottom && l.bottom >= top);
    const free = (x: number): boolean =>
      between.every((q) => x < q.x - 2 || x > q.x + NODE_W + 2) && taken.every((l) => Math.abs(l.x - x) >= LANE_GAP - 0.5);
    const x1 = from.x + NODE_W / 2;
    const x2 = last.x + NODE_W / 2;
    // [x, extra cost]: the middle of a gap is preferred to its sides, which are for a second and third lane.
    const sides = between.flatMap((q) => [q.x - GAP_X / 2, q.x + NODE_W + GAP_X / 2]).flatMap((x): [number, number][] => [[x, 0], [x - LANE_GAP, 3 * LANE_GAP], [x + LANE_GAP, 3 * LANE_GAP]]);
    const outside = Array.from({ length: 2 * taken.length + 1 }, (_, k): [number, number] => [right + k * LANE_GAP, 0]);
    const straight = [x1, ...ends.map((t) => t.x + NODE_W / 2)].map((x): [number, number] => [x, 0]);
    const cost = ([x, extra]: [number, number]): number => Math.abs(x - x1) + Math.abs(x - x2) + extra;
    const [x] = [...straight, ...sides, ...outside]
      .filter(([c]) => free(c))
      .reduce((best, c) => (cost(c) < cost(best) || (cost(c) === cost(best) && c[0] > best[0]) ? c : best));
    lanes.set(from.node.name, { x, top, bottom });
  }
  return lanes;
}

/**
 * The path of one edge, from the bottom of its source box to the top of its target box. Between
 * adjacent ranks it is an S-curve through the gap. An edge skipping ranks runs down its source's lane
 * (see assignLanes), turning into and out of it in the box-free gaps below its source and above its
 * target, so it never crosses or clips a box.
 */
function route(from: Placed, to: Placed, lane: Lane | undefined): { d: string; right: number } {
  const x1 = from.x + NODE_W / 2;
  const y1 = from.y + NODE_H;
  const x2 = to.x + NODE_W / 2;
  const y2 = to.y;
  const curve = (xa: number, ya: number, xb: number, yb: number): string => `C${xa},${(ya + yb) / 2} ${xb},${(ya + yb) / 2} ${xb},${yb}`;
  if (y2 - y1 <= GAP_Y + 1 || !lane) return { d: `M${x1},${y1} ${curve(x1, y1, x2, y2)}`, right: Math.max(x1, x2) };
  const bottom = y2 - GAP_Y;
  return { d: `M${x1},${y1} ${curve(x1, y1, lane.x, lane.top)} L${lane.x},${bottom} ${curve(lane.x, bottom, x2, y2)}`, right: Math.max(lane.x, x1, x2) };
}

/** Room for a label inside a node box (its padding taken off). */
const LABEL_W = NODE_W - 14;

/** `full` with its middle replaced by an ellipsis, keeping `keep` characters (the start and the end, which tell siblings apart). */
function middleCut(full: string, keep: number): string {
  const head = Math.ceil(keep / 2);
  return `${full.slice(0, head)}…${full.slice(full.length - (keep - head))}`;
}

/**
 * Shortens a drawn SVG label in the middle until it fits its box, measured in the page's own font
 * (a character count cannot know how wide 'W' and 'i' are); the node's title (its tooltip) and the
 * details beside the graph keep the full text.
 */
function fitLabel(text: SVGTextElement, full: string): void {
  if (text.getComputedTextLength() <= LABEL_W) return;
  let lo = 0;
  let hi = full.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    text.textContent = middleCut(full, mid);
    if (text.getComputedTextLength() <= LABEL_W) lo = mid;
    else hi = mid - 1;
  }
  text.textContent = middleCut(full, lo);
}

/** The attributes of one node: class, inputs, weights and every stored option. */
function details(node: GraphNode, onOpen: () => void): HTMLElement {
  return h(
    'div',
    { 'data-testid': 'graph-details' },
    h('h3', {}, node.name),
    h('p', { class: 'facts' }, node.className, node.parents?.length ? ` inside ${node.parents.join(' / ')}` : ''),
    h('p', {}, 'inputs: ', node.inbound.length ? node.inbound.join(', ') : 'none (an input of the model)'),
    node.weights.length ? h('ul', { class: 'notes' }, ...node.weights.map((w) => h('li', {}, w))) : h('p', { class: 'hint' }, 'no weights'),
    node.attributes.length
      ? h('table', { class: 'stats', 'aria-label': 'attributes' }, ...node.attributes.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v))))
      : null,
    node.opens
      ? h('button', { type: 'button', onclick: onOpen, 'data-testid': 'graph-open' }, node.opens === node.name ? 'open this layer' : `open layer ${node.opens}`)
      : null,
  );
}

/**
 * The graph tab: the model's layer DAG as SVG, zoomable (buttons, Ctrl + wheel) and scrollable; hover
 * or focus shows a layer's attributes, a click (or Enter) opens it in the layers tab, the arrows follow
 * edges (Up to an input, Down to a consumer).
 */
export function graphTab(root: HTMLElement, backend: Backend, router: Router): { apply(state: ViewState): Promise<void> } {
  let model = -1;
  let zoom = 1;
  let graph: ModelGraph | undefined;
  let canvas: SVGSVGElement | undefined;
  let size = { width: 0, height: 0 };
  const side = h('aside', { class: 'graph-side', 'aria-live': 'polite' }, h('p', { class: 'hint' }, 'Hover or focus a node to see its attributes and tensors; click one with weights to open its layer.'));
  const box = h('div', { class: 'graph-box', 'data-testid': 'graph-box' });
  const zoomLabel = h('span', { 'data-testid': 'graph-zoom' }, '100%');
  const setZoom = (z: number): void => {
    zoom = z;
    zoomLabel.textContent = `${Math.round(z * 100)}%`;
    if (canvas) {
      canvas.setAttribute('width', String(size.width * z));
      canvas.setAttribute('height', String(size.height * z));
    }
  };
  const step = (d: number): void => {
    const i = ZOOMS.findIndex((z) => z >= zoom - 1e-9);
    setZoom(ZOOMS[Math.max(0, Math.min(ZOOMS.length - 1, (i < 0 ? ZOOMS.length - 1 : i) + d))]!);
  };
  box.addEventListener('wheel', (e) => {
    if (!e.ctrlKey) return;
    e.preventDefault();
    step(e.deltaY < 0 ? 1 : -1);
  }, { passive: false });
  const bar = h(
    'div',
    { class: 'controls' },
    h('button', { type: 'button', 'data-testid': 'zoom-out', onclick: () => step(-1) }, 'zoom out'),
    zoomLabel,
    h('button', { type: 'button', 'data-testid': 'zoom-in', onclick: () => step(1) }, 'zoom in'),
    h('button', { type: 'button', onclick: () => setZoom(Math.max(ZOOMS[0]!, Math.min(1, (box.clientWidth - 8) / Math.max(1, size.width)))) }, 'fit width'),
    h('span', { class: 'hint' }, 'Ctrl + wheel zooms; arrows follow edges; Enter opens a layer'),
  );
  const noteEl = h('p', { class: 'hint', 'data-testid': 'graph-note' });
  clear(root, h('div', { class: 'graph-tab' }, h('div', {}, bar, noteEl, box), side));

  const draw = (g: ModelGraph, selected: string | undefined): void => {
    const { placed, width: boxes, height } = layout(g.nodes);
    const at = new Map(placed.map((p) => [p.node.name, p]));
    const consumers = new Map<string, string[]>();
    for (const n of g.nodes) for (const i of n.inbound) consumers.set(i, [...(consumers.get(i) ?? []), n.name]);
    const edges = svg('g', { class: 'edges' });
    const lanes = assignLanes(placed, at);
    // A lane right of the widest row widens the drawing.
    let width = boxes;
    for (const p of placed) {
      for (const name of p.node.inbound) {
        const from = at.get(name);
        if (!from) continue;
        const edge = route(from, p, lanes.get(name));
        width = Math.max(width, edge.right + GAP_X / 2);
        edges.append(svg('path', { d: edge.d, class: 'edge', 'data-from': name, 'data-to': p.node.name }));
      }
    }
    size = { width, height };
    canvas = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'group', 'aria-label': `graph of ${backend.models()[model]?.name ?? 'the model'}: ${g.nodes.length} nodes`, 'data-testid': 'graph' });
    canvas.append(edges);
    const open = (name: string | undefined): void => {
      if (name !== undefined) router.push({ tab: 'layers', layer: name, filter: undefined, channel: undefined, page: undefined });
    };
    const focusNode = (name: string | undefined): void => {
      const el = name ? canvas!.querySelector<SVGGElement>(`g.node[data-layer="${CSS.escape(name)}"]`) : null;
      el?.focus();
    };
    for (const p of placed) {
      const n = p.node;
      const node = svg('g', {
        class: `node${n.weights.length ? ' weighted' : ''}${selected !== undefined && (n.name === selected || n.opens === selected) ? ' selected' : ''}`,
        transform: `translate(${p.x},${p.y})`,
        tabindex: 0,
        role: 'button',
        'data-layer': n.name,
      });
      const title = svg('title');
      title.textContent = `${n.name} (${n.className})`;
      const name = svg('text', { x: NODE_W / 2, y: 17, 'text-anchor': 'middle', class: 'node-name' });
      name.textContent = n.name;
      const cls = svg('text', { x: NODE_W / 2, y: 33, 'text-anchor': 'middle', class: 'node-class' });
      cls.textContent = n.className;
      node.append(title, svg('rect', { width: NODE_W, height: NODE_H, rx: 6 }), name, cls);
      const show = (): void => clear(side, details(n, () => open(n.opens)));
      node.addEventListener('mouseenter', show);
      node.addEventListener('focus', show);
      node.addEventListener('click', () => (n.opens ? open(n.opens) : show()));
      node.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          if (n.opens) open(n.opens);
          else show();
        } else if (e.key === 'ArrowUp' && n.inbound[0]) {
          e.preventDefault();
          focusNode(n.inbound[0]);
        } else if (e.key === 'ArrowDown' && consumers.get(n.name)?.[0]) {
          e.preventDefault();
          focusNode(consumers.get(n.name)![0]);
        }
      });
      canvas.append(node);
    }
    clear(box, canvas);
    canvas.querySelectorAll<SVGTextElement>('g.node text').forEach((text) => fitLabel(text, text.textContent ?? ''));
    setZoom(zoom);
    if (selected) {
      const sel = at.get(selected);
      if (sel) box.scrollTo({ top: Math.max(0, sel.y * zoom - box.clientHeight / 2), left: Math.max(0, sel.x * zoom - box.clientWidth / 2) });
    }
  };

  return {
    apply: async (state) => {
      if (state.model !== model || !graph) {
        model = state.model;
        graph = await backend.graph(model);
        if (graph.missing) {
          clear(box, h('p', { class: 'note', 'data-testid': 'graph-missing' }, graph.missing));
          return;
        }
      }
      if (!graph.missing) {
        noteEl.textContent = graph.note ?? '';
        draw(graph, state.layer);
      }
    },
  };
}
