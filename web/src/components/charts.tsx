// Small SVG charts: no chart library for a few bars. Each has a text alternative (a table).

export interface Bar {
  label: string;
  value: number;
}

export function BarChart({
  title,
  bars,
  format = (v) => String(v),
}: {
  title: string;
  bars: Bar[];
  format?: (value: number) => string;
}) {
  const width = 480;
  const rowHeight = 26;
  const labelWidth = 150;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const height = Math.max(rowHeight, bars.length * rowHeight);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      {bars.length === 0 ? (
        <p class="muted">No data yet.</p>
      ) : (
        <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={title}>
          {bars.map((b, i) => {
            const w = ((width - labelWidth - 80) * b.value) / max;
            const y = i * rowHeight;
            return (
              <g key={b.label}>
                <text x={0} y={y + 17} class="label">
                  {b.label.length > 20 ? `${b.label.slice(0, 19)}…` : b.label}
                </text>
                <rect x={labelWidth} y={y + 4} width={Math.max(w, 1)} height={rowHeight - 8} rx={3} />
                <text x={labelWidth + w + 6} y={y + 17} class="value">
                  {format(b.value)}
                </text>
              </g>
            );
          })}
        </svg>
      )}
    </figure>
  );
}

/** Columns over time, oldest on the left; `flagged` columns are drawn as anomalies. */
export function ColumnChart({
  title,
  columns,
  format = (v) => String(v),
}: {
  title: string;
  columns: (Bar & { flagged?: boolean })[];
  format?: (value: number) => string;
}) {
  const width = 480;
  const height = 160;
  const max = Math.max(1, ...columns.map((c) => c.value));
  const step = columns.length ? width / columns.length : width;
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      {columns.length === 0 ? (
        <p class="muted">No windows yet.</p>
      ) : (
        <svg viewBox={`0 0 ${width} ${height + 20}`} role="img" aria-label={title}>
          {columns.map((c, i) => {
            const h = ((height - 16) * c.value) / max;
            return (
              <g key={c.label} class={c.flagged ? "flagged" : undefined}>
                <title>{`${c.label}: ${format(c.value)}`}</title>
                <rect x={i * step + 2} y={height - h} width={Math.max(step - 4, 1)} height={Math.max(h, 1)} rx={2} />
                {(columns.length <= 6 || i % Math.ceil(columns.length / 6) === 0) && (
                  <text x={i * step + step / 2} y={height + 14} class="axis" text-anchor="middle">
                    {c.label}
                  </text>
                )}
              </g>
            );
          })}
        </svg>
      )}
    </figure>
  );
}
