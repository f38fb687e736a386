// The frame of every page: header with navigation, the page, a footer.
import type { ComponentChildren } from "preact";
import { cartCount } from "../state/cart";
import { currentUser, isAdmin, signOut } from "../state/session";
import { Link, navigate } from "../router";
import { api } from "../api/client";
import { session } from "../state/session";

async function logOut(): Promise<void> {
  const refresh = session.value?.refreshToken;
  // Revoke the refresh token at the server; signing out locally happens whatever it answers.
  if (refresh) await api("/users/logout", { method: "POST", body: { refresh_token: refresh } }).catch(() => {});
  signOut();
  navigate("/");
}

export function Layout({ children }: { children: ComponentChildren }) {
  const user = currentUser.value;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href="/" class="brand">
          CloudMart
        </Link>
        <nav aria-label="Main">
          <Link href="/">Shop</Link>
          <Link href="/cart" data-testid="cart-link">
            Cart <span class="count" aria-label={`${cartCount.value} items`}>{cartCount.value}</span>
          </Link>
          {user ? (
            <>
              <Link href="/orders">My orders</Link>
              <Link href="/account">{user.username}</Link>
              {isAdmin.value && <Link href="/admin">Admin</Link>}
              <button type="button" class="link" onClick={logOut}>
                Log out
              </button>
            </>
          ) : (
            <>
              <Link href="/login">Log in</Link>
              <Link href="/register">Register</Link>
            </>
          )}
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
      <footer>
        CloudMart reference shop · <a href="/api/docs">API docs</a>
      </footer>
    </>
  );
}

export function AdminNav() {
  return (
    <nav class="subnav" aria-label="Admin">
      <Link href="/admin">Analytics</Link>
      <Link href="/admin/orders">Orders</Link>
      <Link href="/admin/products">Products</Link>
      <Link href="/admin/notifications">Notifications</Link>
    </nav>
  );
}
