// Register, log in, forgotten password and the reset link from the email.
import { useState } from "preact/hooks";
import { api } from "../../api/client";
import type { TokenPair } from "../../api/types";
import { ErrorBox, Notice } from "../../components/feedback";
import { Field, formValues } from "../../components/form";
import { useAction } from "../../hooks";
import { Link, navigate, queryParam } from "../../router";
import { storeTokens } from "../../state/session";

const PASSWORD_HINT = "At least 10 characters, mixing three of: lower case, upper case, digits, symbols.";

function afterSignIn(): void {
  const next = queryParam("next");
  // Only paths of this site: `next` comes from the URL.
  navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/", true);
}

async function signIn(username: string, password: string): Promise<void> {
  storeTokens(
    await api<TokenPair>("/users/login", { method: "POST", body: { username, password }, anonymous: true }),
  );
  afterSignIn();
}

export function Login() {
  const login = useAction(async (v: Record<string, string>) => {
    await signIn(v.username, v.password);
  });
  return (
    <section class="narrow">
      <h1>Log in</h1>
      <form onSubmit={(e) => (e.preventDefault(), login.run(formValues(e)))}>
        <Field label="Username" name="username" required autoComplete="username" />
        <Field label="Password" name="password" type="password" required autoComplete="current-password" />
        <ErrorBox error={login.error} />
        <button type="submit" disabled={login.busy}>
          {login.busy ? "Logging in…" : "Log in"}
        </button>
      </form>
      <p>
        <Link href="/forgot-password">Forgot your password?</Link> · New here?{" "}
        <Link href={`/register${queryParam("next") ? `?next=${encodeURIComponent(queryParam("next")!)}` : ""}`}>
          Register
        </Link>
      </p>
    </section>
  );
}

export function Register() {
  const register = useAction(async (v: Record<string, string>) => {
    await api("/users/register", {
      method: "POST",
      anonymous: true,
      body: {
        username: v.username,
        email: v.email,
        password: v.password,
        full_name: v.full_name || null,
        address: v.address || null,
      },
    });
    await signIn(v.username, v.password);
  });
  const fields = register.error instanceof Error && "fieldErrors" in register.error
    ? (register.error as { fieldErrors: Record<string, string> }).fieldErrors
    : {};
  return (
    <section class="narrow">
      <h1>Create your account</h1>
      <form onSubmit={(e) => (e.preventDefault(), register.run(formValues(e)))}>
        <Field label="Username" name="username" required minLength={3} maxLength={80} pattern="[A-Za-z0-9_.\-]{3,80}"
          hint="3 to 80 letters, digits, dots, dashes or underscores." autoComplete="username" error={fields.username} />
        <Field label="Email" name="email" type="email" required autoComplete="email" error={fields.email} />
        <Field label="Password" name="password" type="password" required minLength={10} hint={PASSWORD_HINT}
          autoComplete="new-password" error={fields.password} />
        <Field label="Full name (optional)" name="full_name" autoComplete="name" maxLength={200} />
        <Field label="Address (optional)" name="address" autoComplete="street-address" maxLength={500} />
        <ErrorBox error={register.error} />
        <button type="submit" disabled={register.busy}>
          {register.busy ? "Creating your account…" : "Register"}
        </button>
      </form>
      <p>
        Already have an account? <Link href="/login">Log in</Link>
      </p>
    </section>
  );
}

export function ForgotPassword() {
  const [sent, setSent] = useState(false);
  const request = useAction(async (v: Record<string, string>) => {
    await api("/users/password-reset", { method: "POST", body: { email: v.email }, anonymous: true });
    setSent(true);
  });
  return (
    <section class="narrow">
      <h1>Reset your password</h1>
      {sent ? (
        <Notice>If an account uses that address, an email with a reset link is on its way.</Notice>
      ) : (
        <form onSubmit={(e) => (e.preventDefault(), request.run(formValues(e)))}>
          <Field label="Email" name="email" type="email" required autoComplete="email" />
          <ErrorBox error={request.error} />
          <button type="submit" disabled={request.busy}>
            Send the reset link
          </button>
        </form>
      )}
    </section>
  );
}

export function ResetPassword() {
  const token = queryParam("token") ?? "";
  const [done, setDone] = useState(false);
  const reset = useAction(async (v: Record<string, string>) => {
    await api("/users/password-reset/confirm", {
      method: "POST",
      body: { token, new_password: v.new_password },
      anonymous: true,
    });
    setDone(true);
  });
  if (done) {
    return (
      <section class="narrow">
        <Notice>
          Your password is changed. <Link href="/login">Log in</Link>
        </Notice>
      </section>
    );
  }
  return (
    <section class="narrow">
      <h1>Choose a new password</h1>
      {!token && <p role="alert">This page needs the link from the reset email.</p>}
      <form onSubmit={(e) => (e.preventDefault(), reset.run(formValues(e)))}>
        <Field label="New password" name="new_password" type="password" required minLength={10}
          hint={PASSWORD_HINT} autoComplete="new-password" />
        <ErrorBox error={reset.error} />
        <button type="submit" disabled={reset.busy || !token}>
          Change the password
        </button>
      </form>
    </section>
  );
}
