// What the notifications service sent: channel, recipient, outcome.
import { useState } from "preact/hooks";
import { api } from "../../api/client";
import type { Page, SentNotification } from "../../api/types";
import { ErrorBox, Loading } from "../../components/feedback";
import { AdminNav } from "../../components/layout";
import { useApi } from "../../hooks";
import { dateTime } from "../../format";

export function AdminNotifications() {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const sent = useApi(
    (signal) =>
      api<Page<SentNotification>>("/notifications", {
        query: { limit: 50, cursor: cursors[cursors.length - 1] },
        signal,
      }),
    [cursors],
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
          <thead>
            <tr>
              <th scope="col">Sent</th>
              <th scope="col">Event</th>
              <th scope="col">Channel</th>
              <th scope="col">Recipient</th>
              <th scope="col">Subject</th>
              <th scope="col">Outcome</th>
            </tr>
          </thead>
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
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <button
          type="button"
          disabled={!sent.data?.next_cursor}
          onClick={() => setCursors([...cursors, sent.data!.next_cursor])}
        >
          Older
        </button>
      </nav>
    </section>
  );
}
