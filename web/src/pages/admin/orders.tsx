// Orders for admins: search by status, customer or number; move through the workflow;
// cancel (refunds in full) or refund part of a payment.
import { useState } from "preact/hooks";
import { api, newIdempotencyKey } from "../../api/client";
import type { Order, OrderDetail, OrderStatus, Page, Payment } from "../../api/types";
import { ErrorBox, Loading, Notice } from "../../components/feedback";
import { Field, Select, formValues } from "../../components/form";
import { AdminNav } from "../../components/layout";
import { useAction, useApi } from "../../hooks";
import { money } from "../../format";
import { navigate, queryParam } from "../../router";
import { OrderDetails, OrderTable } from "../shop/orders";

// What an admin may move an order to by hand (pending -> processing is the payment's job).
const NEXT: Partial<Record<OrderStatus, OrderStatus>> = { processing: "shipped", shipped: "delivered" };
const STATUSES = ["", "pending", "processing", "shipped", "delivered", "cancelled"];

export function AdminOrders() {
  const id = queryParam("id");
  return (
    <section>
      <AdminNav />
      <h1>Orders</h1>
      {id ? <AdminOrder id={Number(id)} /> : <OrderSearch />}
    </section>
  );
}

function OrderSearch() {
  const [query, setQuery] = useState<{ status?: string; user_id?: string }>({});
  const [cursor, setCursor] = useState<string | null>(null);
  const orders = useApi(
    (signal) => api<Page<Order>>("/orders", { query: { ...query, limit: 25, cursor }, signal }),
    [query, cursor],
  );
  return (
    <>
      <form
        class="filters"
        role="search"
        aria-label="Search orders"
        onSubmit={(e) => {
          e.preventDefault();
          const v = formValues(e);
          if (v.order_id) navigate(`/admin/orders?id=${encodeURIComponent(v.order_id)}`);
          else {
            setQuery({ status: v.status || undefined, user_id: v.user_id || undefined });
            setCursor(null);
          }
        }}
      >
        <Field label="Order number" name="order_id" type="number" min="1" />
        <Select label="Status" name="status" options={STATUSES.map((s) => ({ value: s, label: s || "Any status" }))} />
        <Field label="Customer id" name="user_id" type="number" min="1" />
        <button type="submit">Search</button>
      </form>
      <ErrorBox error={orders.error} />
      {orders.loading && !orders.data ? (
        <Loading what="Loading orders" />
      ) : orders.data?.items.length ? (
        <OrderTable orders={orders.data.items} admin />
      ) : (
        <p>No orders match.</p>
      )}
      {orders.data?.next_cursor && (
        <button type="button" onClick={() => setCursor(orders.data!.next_cursor)}>
          More
        </button>
      )}
    </>
  );
}

function AdminOrder({ id }: { id: number }) {
  const order = useApi((signal) => api<OrderDetail>(`/orders/${id}`, { signal }), [id]);
  const payment = useApi(
    (signal) =>
      api<Payment>(`/payments/order/${id}`, { signal }).catch((e) => {
        if (e?.status === 404) return null;
        throw e;
      }),
    [id, order.data?.status],
  );
  const [done, setDone] = useState("");
  const move = useAction(async (status: OrderStatus) => {
    await api(`/orders/${id}/status`, { method: "PATCH", body: { status } });
    setDone(`Order #${id} is now ${status}.`);
    order.reload();
  });
  const cancel = useAction(async (reason: string) => {
    await api(`/orders/${id}`, { method: "DELETE", body: { reason } });
    setDone(`Order #${id} is cancelled; a paid order is refunded in full.`);
    order.reload();
  });
  const refund = useAction(async (v: Record<string, string>) => {
    await api("/payments/refund", {
      method: "POST",
      idempotencyKey: newIdempotencyKey(),
      body: { payment_id: payment.data!.id, amount: v.amount || null, reason: v.reason },
    });
    setDone(`Refund of ${v.amount ? money(Number(v.amount)) : "the rest"} accepted.`);
    payment.reload();
  });
  if (order.loading && !order.data) return <Loading what="Loading the order" />;
  if (!order.data) return <ErrorBox error={order.error} />;
  const o = order.data;
  const next = NEXT[o.status];
  const p = payment.data;
  return (
    <article data-testid="admin-order">
      <h2>
        Order #{o.id} <span class="muted">(customer {o.user_id})</span>
      </h2>
      {done && <Notice>{done}</Notice>}
      <OrderDetails order={o} />
      <ErrorBox error={move.error ?? cancel.error} />
      <div class="actions">
        {next && (
          <button type="button" disabled={move.busy} onClick={() => move.run(next)}>
            Mark as {next}
          </button>
        )}
        {(o.status === "pending" || o.status === "processing") && (
          <button type="button" class="secondary" disabled={cancel.busy} onClick={() => cancel.run("cancelled by an administrator")}>
            Cancel and refund
          </button>
        )}
      </div>
      <h3>Payment</h3>
      {p ? (
        <>
          <p>
            {money(p.amount, p.currency)} · {p.status}
            {p.refunded_amount > 0 && ` · refunded ${money(p.refunded_amount, p.currency)}`}
            {p.failure_reason && ` · ${p.failure_reason}`}
          </p>
          {(p.status === "succeeded" || p.status === "partially_refunded") && (
            <form class="inline" onSubmit={(e) => (e.preventDefault(), refund.run(formValues(e)))} aria-label="Refund">
              <Field label="Refund amount (empty: the rest)" name="amount" type="number" min="0.01" step="0.01" />
              <Field label="Reason" name="reason" required maxLength={500} defaultValue="requested by the customer" />
              <button type="submit" disabled={refund.busy}>
                Refund
              </button>
            </form>
          )}
          <ErrorBox error={refund.error} />
        </>
      ) : (
        <p class="muted">No payment.</p>
      )}
      <p>
        <button type="button" class="link" onClick={() => navigate("/admin/orders")}>
          ← All orders
        </button>
      </p>
    </article>
  );
}
