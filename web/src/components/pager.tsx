// Paging back and forth over cursor pages: the API only knows "next", so the trail is kept here.
import { useState } from "preact/hooks";

export interface Cursors {
  cursor: string | null;
  page: number;
  back: () => void;
  forward: (next: string | null) => void;
  reset: () => void;
}

export function useCursors(): Cursors {
  const [trail, setTrail] = useState<(string | null)[]>([null]);
  return {
    cursor: trail[trail.length - 1],
    page: trail.length,
    back: () => setTrail(trail.slice(0, -1)),
    forward: (next) => setTrail([...trail, next]),
    reset: () => setTrail([null]),
  };
}

export function Pager(props: {
  cursors: Cursors;
  next: string | null | undefined;
  labels: [string, string];
  showPage?: boolean;
}) {
  const { cursors, next, labels } = props;
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={cursors.page < 2} onClick={cursors.back}>
        {labels[0]}
      </button>
      {props.showPage && <span>Page {cursors.page}</span>}
      <button type="button" disabled={!next} onClick={() => cursors.forward(next ?? null)}>
        {labels[1]}
      </button>
    </nav>
  );
}
