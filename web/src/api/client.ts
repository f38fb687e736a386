// One way to talk to the API: JSON in and out through the gateway, problem+json errors
// turned into ApiError, the access token refreshed once when it has expired.
import { session, signOut, storeTokens } from "../state/session";
import type { TokenPair } from "./types";

/** An RFC 9457 problem answered by the API, with what a person needs to read. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(detail || title);
  }

  /** Field-level messages of a 422 (`errors: [{field, message}]`), by field name. */
  get fieldErrors(): Record<string, string> {
    const errors = this.body.errors;
    const out: Record<string, string> = {};
    if (Array.isArray(errors)) {
      for (const e of errors as { field?: string; loc?: string[]; message?: string; msg?: string }[]) {
        const field = e.field ?? e.loc?.[e.loc.length - 1] ?? "";
        out[String(field)] = e.message ?? e.msg ?? "invalid";
      }
    }
    return out;
  }
}

type Json = Record<string, unknown> | unknown[];

export interface RequestOptions {
  method?: string;
  body?: Json;
  query?: Record<string, string | number | boolean | undefined | null>;
  idempotencyKey?: string;
  signal?: AbortSignal;
  anonymous?: boolean;
}

export function withQuery(path: string, query: RequestOptions["query"]): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function problemOf(response: Response): Promise<ApiError> {
  let body: Record<string, unknown> = {};
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy in between): the status line is all there is.
  }
  const title = typeof body.title === "string" ? body.title : response.statusText || "Error";
  let detail = typeof body.detail === "string" ? body.detail : "";
  if (response.status === 429) {
    const retry = response.headers.get("Retry-After");
    detail = `Too many requests${retry ? `: try again in ${retry} s` : ""}.`;
  }
  return new ApiError(response.status, title, detail || title, body);
}

let refreshing: Promise<boolean> | null = null;

/** Trade the refresh token for a new pair; callers waiting at once share one exchange. */
function refreshTokens(): Promise<boolean> {
  const refresh = session.value?.refreshToken;
  if (!refresh) return Promise.resolve(false);
  refreshing ??= fetch("/api/users/token/refresh", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: refresh }),
  })
    .then(async (response) => {
      if (!response.ok) return false;
      storeTokens((await response.json()) as TokenPair);
      return true;
    })
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

export function authHeaders(): Record<string, string> {
  const token = session.value?.accessToken;
  return token ? { Authorization: `Bearer ${token}` } : {};
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const send = () => {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (!options.anonymous) Object.assign(headers, authHeaders());
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (options.idempotencyKey) headers["Idempotency-Key"] = options.idempotencyKey;
    return fetch(withQuery(`/api${path}`, options.query), {
      method: options.method ?? "GET",
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  };
  let response: Response;
  try {
    response = await send();
    if (response.status === 401 && !options.anonymous && session.value) {
      if (await refreshTokens()) response = await send();
      else signOut();
    }
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, "Network error", "The shop cannot be reached. Check your connection.");
  }
  if (!response.ok) throw await problemOf(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** A fresh key per user intent: a retried click replays, never repeats, the operation. */
export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}
