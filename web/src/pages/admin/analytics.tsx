// The live analytics dashboard: window results and trending products from the Flink job,
// pushed by the stream. Revenue is money taken (paid less refunded); gross order value is every
// order placed, declined checkouts included (analytics/README.md).
import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../../api/client";
import { followStream } from "../../api/stream";
import type { AnalyticsSummary, AnalyticsWindow, Anomaly, Page, TrendingProducts } from "../../api/types";
import { BarChart, ColumnChart } from "../../components/charts";
import { ErrorBox, Loading } from "../../components/feedback";
import { AdminNav } from "../../components/layout";
import { useApi } from "../../hooks";
import { money, time } from "../../format";
import { TableHead } from "../../components/table";

const SHOWN = 30;

/** A window's gross order value; windows from before it was counted (version 1) have none. */
function gross(w: AnalyticsWindow): string {
  return w.gross_order_value == null ? "—" : money(w.gross_order_value);
}

function span(seconds: number): string {
  return seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}

export function AdminAnalytics() {
  const [windows, setWindows] = useState<AnalyticsWindow[]>([]);
  const [anomalies, setAnomalies] = useState<Anomaly[]>([]);
  const [trending, setTrending] = useState<TrendingProducts | null>(null);
  const [live, setLive] = useState(false);
  const [updated, setUpdated] = useState(0);
  const initial = useApi(
    (signal) => api<Page<AnalyticsWindow>>("/analytics/windows", { query: { limit: SHOWN }, signal }),
    [],
  );
  const summary = useApi((signal) => api<AnalyticsSummary>("/analytics/summary", { signal }), [updated]);
  // 404 until the first sliding window has closed: nothing to show yet, not an error.
  const initialTrending = useApi(
    (signal) =>
      api<TrendingProducts>("/analytics/trending", { signal }).catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 404) return null;
        throw e;
      }),
    [],
  );

  useEffect(() => {
    if (initial.data) setWindows(initial.data.items);
  }, [initial.data]);
  useEffect(() => {
    if (summary.data) setAnomalies(summary.data.recent_anomalies ?? []);
  }, [summary.data]);
  useEffect(() => {
    if (initialTrending.data) setTrending((shown) => shown ?? initialTrending.data ?? null);
  }, [initialTrending.data]);

  useEffect(() => {
    const controller = new AbortController();
    followStream(
      "/analytics/stream",
      ({ event, data }) => {
        const result = JSON.parse(data);
        if (event === "analytics_window") {
          setWindows((shown) =>
            [result as AnalyticsWindow, ...shown.filter((w) => w.window_start !== result.window_start)]
              .sort((a, b) => b.window_start.localeCompare(a.window_start))
              .slice(0, SHOWN),
          );
          setUpdated((n) => n + 1);
        } else if (event === "anomaly_detected") {
          setAnomalies((shown) => [result as Anomaly, ...shown].slice(0, 10));
        } else if (event === "trending_products") {
          // Windows' results travel through different partitions: keep the one that ended last.
          setTrending((shown) =>
            shown && shown.window_end > (result as TrendingProducts).window_end ? shown : (result as TrendingProducts),
          );
        }
      },
      setLive,
      controller.signal,
    );
    return () => controller.abort();
  }, []);

  const latest = windows[0];
  const oldestFirst = [...windows].reverse();
  const flagged = new Set(anomalies.map((a) => a.window_start));
  const s = summary.data;
  return (
    <section class="dashboard">
      <AdminNav />
      <h1>Live analytics</h1>
      <p class="muted" role="status">
        <span class={live ? "dot live" : "dot"} aria-hidden="true" />{" "}
        <span data-testid="stream-state">{live ? "Live" : "Connecting…"}</span>
        {latest && ` · latest window ${time(latest.window_start)}–${time(latest.window_end)}`}
      </p>
      <ErrorBox error={initial.error ?? summary.error ?? initialTrending.error} />
      {initial.loading && !initial.data && <Loading what="Loading windows" />}
      {s && (
        <dl class="kpis" data-testid="kpis">
          <div>
            <dt>Revenue, paid (last {s.windows} windows)</dt>
            <dd data-testid="revenue">{money(s.revenue)}</dd>
          </div>
          <div>
            <dt>Gross order value</dt>
            <dd data-testid="gross-order-value">{money(s.gross_order_value)}</dd>
          </div>
          <div>
            <dt>Orders (paid)</dt>
            <dd data-testid="order-count">
              {s.order_count} ({s.paid_order_count})
            </dd>
          </div>
          <div>
            <dt>Average paid order</dt>
            <dd>{money(s.avg_order_value)}</dd>
          </div>
          <div>
            <dt>Cancellations</dt>
            <dd>{s.cancellations}</dd>
          </div>
        </dl>
      )}
      <div class="charts">
        <ColumnChart
          title="Revenue (paid) per window"
          columns={oldestFirst.map((w) => ({ label: time(w.window_start), value: w.revenue, flagged: flagged.has(w.window_start) }))}
          format={(v) => money(v)}
        />
        <ColumnChart
          title="Orders per window"
          columns={oldestFirst.map((w) => ({ label: time(w.window_start), value: w.order_count, flagged: flagged.has(w.window_start) }))}
        />
        <ColumnChart
          title="Gross order value per window"
          columns={oldestFirst.map((w) => ({ label: time(w.window_start), value: w.gross_order_value ?? 0 }))}
          format={(v) => money(v)}
        />
        <ColumnChart
          title="Average paid order per window"
          columns={oldestFirst.map((w) => ({ label: time(w.window_start), value: w.avg_order_value }))}
          format={(v) => money(v)}
        />
        <BarChart
          title="Top products (units sold)"
          bars={(s?.top_products ?? []).map((p) => ({ label: p.product_name ?? `#${p.product_id}`, value: p.quantity }))}
        />
        <BarChart
          title="Revenue (paid) by region"
          bars={Object.entries(s?.by_region ?? {}).map(([region, r]) => ({ label: region, value: r.revenue }))}
          format={(v) => money(v)}
        />
      </div>
      <h2>Trending products</h2>
      {trending ? (
        <>
          <p class="muted">
            Sold over the last {span(trending.window_seconds)} up to {time(trending.window_end)}, every{" "}
            {span(trending.slide_seconds)} (paid less refunded)
          </p>
          {trending.products.length === 0 ? (
            <p class="muted">Nothing sold in that window.</p>
          ) : (
            <table class="lines" data-testid="trending">
              <TableHead columns={["#", "Product", "Units", "Revenue"]} />
              <tbody>
                {trending.products.map((p) => (
                  <tr key={p.product_id}>
                    <td>{p.rank}</td>
                    <td>{p.product_name ?? `#${p.product_id}`}</td>
                    <td>{p.quantity}</td>
                    <td>{money(p.revenue)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      ) : (
        !initialTrending.loading && <p class="muted">No trending products yet.</p>
      )}
      <h2>Anomalies</h2>
      {anomalies.length === 0 ? (
        <p class="muted">None flagged recently.</p>
      ) : (
        <ul data-testid="anomalies">
          {anomalies.map((a) => (
            <li key={a.window_start + a.metric}>
              {time(a.window_start)}: {a.metric.replace("_", " ")} {a.direction} ({a.value} against a baseline of{" "}
              {a.baseline_mean.toFixed(2)})
            </li>
          ))}
        </ul>
      )}
      <h2>Windows</h2>
      <table class="lines" data-testid="windows">
        <TableHead columns={["Window", "Orders", "Revenue (paid)", "Gross order value", "Avg paid order", "Buyers", "Top products"]} />
        <tbody>
          {windows.slice(0, 10).map((w) => (
            <tr key={w.window_start}>
              <td>
                {time(w.window_start)}–{time(w.window_end)}
              </td>
              <td>{w.order_count}</td>
              <td>{money(w.revenue)}</td>
              <td>{gross(w)}</td>
              <td>{money(w.avg_order_value)}</td>
              <td>{w.active_buyers ?? ""}</td>
              <td>{w.top_products.map((p) => `${p.product_name ?? `#${p.product_id}`} ×${p.quantity}`).join(", ")}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
