// Who is signed in: tokens kept in localStorage so a reload keeps the session.
import { computed, signal } from "@preact/signals";
import type { TokenPair, User } from "../api/types";

const KEY = "cloudmart.session";

export interface Session {
  accessToken: string;
  refreshToken: string;
  user: User;
}

function load(): Session | null {
  try {
    const text = localStorage.getItem(KEY);
    return text ? (JSON.parse(text) as Session) : null;
  } catch {
    return null;
  }
}

export const session = signal<Session | null>(load());
export const currentUser = computed(() => session.value?.user ?? null);
export const isAdmin = computed(() => session.value?.user.role === "admin");

function save(value: Session | null): void {
  session.value = value;
  if (value) localStorage.setItem(KEY, JSON.stringify(value));
  else localStorage.removeItem(KEY);
}

export function storeTokens(pair: TokenPair): void {
  save({ accessToken: pair.access_token, refreshToken: pair.refresh_token, user: pair.user });
}

export function updateUser(user: User): void {
  if (session.value) save({ ...session.value, user });
}

export function signOut(): void {
  save(null);
}

// Another tab signing in or out.
window.addEventListener("storage", (event) => {
  if (event.key === KEY) session.value = load();
});
