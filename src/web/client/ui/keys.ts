/**
 * Keyboard movement for the viewer's lists and grids, with one tab stop each (a roving tabindex):
 * Tab enters the list or grid at its current item, the arrow keys move within it, Enter or Space acts.
 */

function items(container: HTMLElement, selector: string): HTMLElement[] {
  return Array.from(container.querySelectorAll<HTMLElement>(selector));
}

function moveTo(all: HTMLElement[], from: HTMLElement, to: HTMLElement | undefined): HTMLElement | undefined {
  if (!to || to === from) return undefined;
  for (const el of all) el.tabIndex = el === to ? 0 : -1;
  to.focus();
  to.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  return to;
}

/** A vertical list where the choice follows focus: ArrowUp/Down, Home/End move and choose; Enter/Space choose. */
export function listKeys(container: HTMLElement, selector: string, onChoose: (el: HTMLElement) => void): void {
  container.addEventListener('keydown', (e) => {
    const current = (e.target as HTMLElement).closest<HTMLElement>(selector);
    if (!current || !container.contains(current)) return;
    const all = items(container, selector);
    const i = all.indexOf(current);
    const target =
      e.key === 'ArrowDown' ? all[i + 1] : e.key === 'ArrowUp' ? all[i - 1] : e.key === 'Home' ? all[0] : e.key === 'End' ? all[all.length - 1] : undefined;
    if (target) {
      e.preventDefault();
      const moved = moveTo(all, current, target);
      if (moved) onChoose(moved);
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      onChoose(current);
    }
  });
}

/** The item in the next (dir 1) or previous (-1) visual row nearest in x. */
function verticalNeighbour(all: HTMLElement[], current: HTMLElement, dir: 1 | -1): HTMLElement | undefined {
  const here = current.getBoundingClientRect();
  const rows = all.map((el) => el.getBoundingClientRect());
  const candidates = all
    .map((el, i) => ({ el, r: rows[i]! }))
    .filter(({ r }) => (dir === 1 ? r.top >= here.bottom - 1 : r.bottom <= here.top + 1));
  if (candidates.length === 0) return undefined;
  const rowTop = dir === 1 ? Math.min(...candidates.map((c) => c.r.top)) : Math.max(...candidates.map((c) => c.r.top));
  const row = candidates.filter((c) => Math.abs(c.r.top - rowTop) < 2);
  const x = here.left + here.width / 2;
  row.sort((a, b) => Math.abs(a.r.left + a.r.width / 2 - x) - Math.abs(b.r.left + b.r.width / 2 - x));
  return row[0]?.el;
}

/** A wrapped grid of tiles: the arrows move in two dimensions as laid out, Enter/Space open the tile. */
export function gridKeys(container: HTMLElement, selector: string, onOpen: (el: HTMLElement) => void): void {
  container.addEventListener('keydown', (e) => {
    const current = (e.target as HTMLElement).closest<HTMLElement>(selector);
    if (!current || !container.contains(current)) return;
    const all = items(container, selector);
    const i = all.indexOf(current);
    let target: HTMLElement | undefined;
    if (e.key === 'ArrowRight') target = all[i + 1];
    else if (e.key === 'ArrowLeft') target = all[i - 1];
    else if (e.key === 'ArrowDown') target = verticalNeighbour(all, current, 1);
    else if (e.key === 'ArrowUp') target = verticalNeighbour(all, current, -1);
    else if (e.key === 'Home') target = all[0];
    else if (e.key === 'End') target = all[all.length - 1];
    else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      onOpen(current);
      return;
    } else return;
    e.preventDefault();
    moveTo(all, current, target);
  });
}
