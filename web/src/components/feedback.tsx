// Loading, errors and notices, announced to screen readers.
import type { ComponentChildren } from "preact";
import { ApiError } from "../api/client";

export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <p class="loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> {what}…
    </p>
  );
}

/** An API problem as a person should read it: its detail, plus the fields it names. */
export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const problem = error instanceof ApiError ? error : null;
  const message = problem ? problem.detail : String(error);
  const fields = problem ? Object.entries(problem.fieldErrors) : [];
  return (
    <div class="alert error" role="alert" data-status={problem?.status}>
      <strong>{problem?.title ?? "Something went wrong"}</strong>
      {message !== problem?.title && <p>{message}</p>}
      {fields.length > 0 && (
        <ul>
          {fields.map(([field, text]) => (
            <li key={field}>
              {field}: {text}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Notice({ children }: { children: ComponentChildren }) {
  return (
    <div class="alert success" role="status">
      {children}
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge status-${status}`} data-testid="order-status">{status}</span>;
}
