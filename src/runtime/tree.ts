import { isSupervisorSpec, type RestartStrategy, type TreeSpec } from './actor.js';

/**
 * A text picture of a supervision tree, drawn from the child specs themselves, so documentation
 * that shows it (the README) can be checked against the code:
 *
 * ```
 * root: one_for_one, 5 restarts in 30 s
 * ├─ healthMonitor
 * └─ leader: rest_for_one, 5 restarts in 30 s
 *    └─ elector (deadline 3 s)
 * ```
 */
export function describeTree(root: { strategy: RestartStrategy; intensity: { maxRestarts: number; periodMs: number }; children: TreeSpec[] }): string {
  const lines = [`root: ${supervision(root)}`];
  draw(root.children, '', lines);
  return lines.join('\n');
}

function supervision(s: { strategy: RestartStrategy; intensity: { maxRestarts: number; periodMs: number } }): string {
  return `${s.strategy}, ${s.intensity.maxRestarts} restarts in ${s.intensity.periodMs / 1000} s`;
}

function draw(children: TreeSpec[], indent: string, lines: string[]): void {
  children.forEach((child, i) => {
    const last = i === children.length - 1;
    const branch = last ? '└─ ' : '├─ ';
    if (isSupervisorSpec(child)) {
      lines.push(`${indent}${branch}${child.id}: ${supervision(child)}`);
      draw(child.children, indent + (last ? '   ' : '│  '), lines);
    } else {
      const details = [
        child.restart === 'permanent' ? null : child.restart,
        child.handlerTimeoutMs ? `deadline ${formatMs(child.handlerTimeoutMs)}` : null,
      ].filter(Boolean);
      lines.push(`${indent}${branch}${child.id}${details.length ? ` (${details.join(', ')})` : ''}`);
    }
  });
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
