// "My orders" and one order, with their status kept live by polling.
import { useState } from "preact/hooks";
import { api } from "../../api/client";
import type { Order, OrderDetail, Page } from "../../api/types";
import { ErrorBox, Loading, Notice, StatusBadge } from "../../components/feedback";
import { useAction, useApi, useInterval } from "../../hooks";
import { dateTime, money } from "../../format";
import { Link, queryParam } from "../../router";
import { currentUser } from "../../state/session";
import { TableHead } from "../../components/table";

const LIVE_MS = 3000;
const FINAL = new Set(["delivered", "cancelled"]);

export function MyOrders() {
  const user = currentUser.value!;
  const [cursor, setCursor] = useState<string | null>(null);
  const orders = useApi(
    (signal) => api<Page<Order>>(`/orders/user/${user.id}`, { query: { limit: 20, cursor }, signal }),
    [user.id, cursor],
  );
  useInterval(() => {
    if (orders.data?.items.some((o) => !FINAL.has(o.status))) orders.reload();
  }, LIVE_MS);
  return (
    <section>
      <h1>My orders</h1>
      <ErrorBox error={orders.error} />
      {orders.loading && !orders.data && <Loading what="Loading your orders" />}
      {orders.data?.items.length === 0 && (
        <p>
          No orders yet. <Link href="/">Start shopping</Link>
        </p>
      )}
      {orders.data && orders.data.items.length > 0 && <OrderTable orders={orders.data.items} />}
      {orders.data?.next_cursor && (
        <button type="button" onClick={() => setCursor(orders.data!.next_cursor)}>
          Older orders
        </button>
      )}
    </section>
  );
}

export function OrderTable({ orders, admin = false }: { orders: Order[]; admin?: boolean }) {
  return (
    <table class="lines" data-testid="orders">
      <caption class="sr-only">Orders</caption>
      <TableHead columns={["Order", "Placed", ...(admin ? ["Customer"] : []), "Items", "Total", "Status"]} />
      <tbody>
        {orders.map((o) => (
          <tr key={o.id} data-order-id={o.id}>
            <td>
              <Link href={admin ? `/admin/orders?id=${o.id}` : `/orders/${o.id}`}>#{o.id}</Link>
            </td>
            <td>{dateTime(o.created_at)}</td>
            {admin && <td>user {o.user_id}</td>}
            <td>{o.items.reduce((n, i) => n + i.quantity, 0)}</td>
            <td>{money(o.total_amount, o.currency)}</td>
            <td>
              <StatusBadge status={o.status} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function OrderPage({ id }: { id: number }) {
  const order = useApi((signal) => api<OrderDetail>(`/orders/${id}`, { signal }), [id]);
  useInterval(() => {
    if (order.data && !FINAL.has(order.data.status)) order.reload();
  }, LIVE_MS);
  const cancel = useAction(async () => {
    await api<OrderDetail>(`/orders/${id}`, { method: "DELETE", body: { reason: "cancelled by the customer" } });
    order.reload();
  });
  if (order.loading && !order.data) return <Loading what="Loading the order" />;
  if (!order.data) return <ErrorBox error={order.error} />;
  const o = order.data;
  return (
    <section>
      {queryParam("placed") && (
        <Notice>
          Thank you! Your order #{o.id} is placed. A confirmation is on its way to your email.
        </Notice>
      )}
      <h1>Order #{o.id}</h1>
      <OrderDetails order={o} />
      {(o.status === "pending" || o.status === "processing") && (
        <>
          <ErrorBox error={cancel.error} />
          <button type="button" class="secondary" disabled={cancel.busy} onClick={() => cancel.run()}>
            {cancel.busy ? "Cancelling…" : "Cancel order"}
          </button>
        </>
      )}
      <p>
        <Link href="/orders">All my orders</Link>
      </p>
    </section>
  );
}

export function OrderDetails({ order }: { order: OrderDetail }) {
  return (
    <>
      <p aria-live="polite">
        Status: <StatusBadge status={order.status} />
        {order.cancel_reason && <span class="muted"> ({order.cancel_reason})</span>}
      </p>
      <p class="muted">
        Placed {dateTime(order.created_at)} · ships to {order.shipping_address}
        {order.shipping_region ? ` (${order.shipping_region})` : ""}
      </p>
      <table class="lines">
        <caption class="sr-only">Items</caption>
        <TableHead columns={["Product", "Quantity", "Price"]} />
        <tbody>
          {order.items.map((i) => (
            <tr key={i.product_id}>
              <td>{i.product_name}</td>
              <td>{i.quantity}</td>
              <td>{money(i.price, order.currency)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="total">
        Total <strong>{money(order.total_amount, order.currency)}</strong>
      </p>
      {order.history && order.history.length > 0 && (
        <details>
          <summary>History</summary>
          <ol>
            {order.history.map((h) => (
              <li key={h.changed_at + h.to_status}>
                {dateTime(h.changed_at)}: {h.from_status ?? "new"} → {h.to_status} by {h.changed_by}
                {h.reason ? ` (${h.reason})` : ""}
              </li>
            ))}
          </ol>
        </details>
      )}
    </>
  );
}
