// What the notifications service sent: channel, recipient, outcome.
import { api } from "../../api/client";
import type { Page, SentNotification } from "../../api/types";
import { ErrorBox, Loading } from "../../components/feedback";
import { AdminNav } from "../../components/layout";
import { Pager, useCursors } from "../../components/pager";
import { useApi } from "../../hooks";
import { dateTime } from "../../format";
import { TableHead } from "../../components/table";

export function AdminNotifications() {
  const cursors = useCursors();
  const sent = useApi(
    (signal) =>
      api<Page<SentNotification>>("/notifications", {
        query: { limit: 50, cursor: cursors.cursor },
        signal,
      }),
    [cursors.cursor],
  );
  return (
    <section>
      <AdminNav />
      <h1>Notification log</h1>
      <button type="button" class="secondary" onClick={() => sent.reload()}>
        Refresh
      </button>
      <ErrorBox error={sent.error} />
      {sent.loading && !sent.data ? (
        <Loading what="Loading the log" />
      ) : (
        <table class="lines" data-testid="notifications">
          <TableHead columns={["Sent", "Event", "Channel", "Recipient", "Subject", "Outcome"]} />
          <tbody>
            {sent.data?.items.map((n) => (
              <tr key={n.id}>
                <td>{dateTime(n.sent_at)}</td>
                <td>{n.event_type}</td>
                <td>{n.channel}</td>
                <td>{n.recipient}</td>
                <td>{n.subject}</td>
                <td class={n.status === "sent" ? "" : "danger"}>
                  {n.status}
                  {n.error ? `: ${n.error}` : ""}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager cursors={cursors} next={sent.data?.next_cursor} labels={["Newer", "Older"]} />
    </section>
  );
}
