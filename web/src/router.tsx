// A small history router: real URLs (/products/7, /admin/orders), served by the gateway's
// fallback to index.html, so a reload or a link from an email opens the right page.
import { signal } from "@preact/signals";
import type { ComponentChildren, JSX } from "preact";

export const location = signal(window.location.pathname + window.location.search);

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  location.value = to;
  window.scrollTo(0, 0);
}

window.addEventListener("popstate", () => {
  location.value = window.location.pathname + window.location.search;
});

export function currentPath(): string {
  return location.value.split("?")[0];
}

export function queryParam(name: string): string | null {
  return new URLSearchParams(location.value.split("?")[1] ?? "").get(name);
}

/** The pattern's `:name` parts of the current path, or null when it does not match. */
export function match(pattern: string, path = currentPath()): Record<string, string> | null {
  const want = pattern.split("/");
  const got = path.split("/");
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(":")) params[want[i].slice(1)] = decodeURIComponent(got[i]);
    else if (want[i] !== got[i]) return null;
  }
  return params;
}

type LinkProps = JSX.AnchorHTMLAttributes<HTMLAnchorElement> & { href: string; children?: ComponentChildren };

export function Link({ href, children, ...rest }: LinkProps) {
  const onClick = (event: MouseEvent) => {
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    navigate(href);
  };
  const active = currentPath() === href.split("?")[0];
  return (
    <a href={href} onClick={onClick} aria-current={active ? "page" : undefined} {...rest}>
      {children}
    </a>
  );
}
