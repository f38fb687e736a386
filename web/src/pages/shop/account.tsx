// Profile edit and password change.
import { useState } from "preact/hooks";
import { api } from "../../api/client";
import type { User } from "../../api/types";
import { ErrorBox, Notice } from "../../components/feedback";
import { Field, formValues } from "../../components/form";
import { useAction } from "../../hooks";
import { currentUser, updateUser } from "../../state/session";

export function Account() {
  const user = currentUser.value!;
  const [saved, setSaved] = useState("");
  const profile = useAction(async (v: Record<string, string>) => {
    const updated = await api<User>(`/users/${user.id}`, {
      method: "PUT",
      body: {
        email: v.email,
        full_name: v.full_name || null,
        phone: v.phone || null,
        address: v.address || null,
      },
    });
    updateUser(updated);
    setSaved("Your profile is saved.");
  });
  const password = useAction(async (v: Record<string, string>) => {
    await api(`/users/${user.id}/password`, {
      method: "PUT",
      body: { current_password: v.current_password, new_password: v.new_password },
    });
    setSaved("Your password is changed.");
  });
  return (
    <section class="narrow">
      <h1>Your account</h1>
      {saved && <Notice>{saved}</Notice>}
      <form onSubmit={(e) => (e.preventDefault(), setSaved(""), profile.run(formValues(e)))} aria-labelledby="profile-h">
        <h2 id="profile-h">Profile</h2>
        <p class="muted">Username: {user.username}</p>
        <Field label="Email" name="email" type="email" required defaultValue={user.email} autoComplete="email" />
        <Field label="Full name" name="full_name" defaultValue={user.full_name ?? ""} maxLength={200} autoComplete="name" />
        <Field label="Phone" name="phone" type="tel" defaultValue={user.phone ?? ""} pattern="\+?[0-9 ()\-]{5,30}" autoComplete="tel" />
        <Field label="Address" name="address" defaultValue={user.address ?? ""} maxLength={500} autoComplete="street-address" />
        <ErrorBox error={profile.error} />
        <button type="submit" disabled={profile.busy}>
          Save profile
        </button>
      </form>
      <form onSubmit={(e) => (e.preventDefault(), setSaved(""), password.run(formValues(e)))} aria-labelledby="password-h">
        <h2 id="password-h">Password</h2>
        <Field label="Current password" name="current_password" type="password" required autoComplete="current-password" />
        <Field label="New password" name="new_password" type="password" required minLength={10} autoComplete="new-password" />
        <ErrorBox error={password.error} />
        <button type="submit" disabled={password.busy}>
          Change password
        </button>
      </form>
    </section>
  );
}
