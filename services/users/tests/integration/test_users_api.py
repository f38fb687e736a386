"""The users service as its clients see it: the running service on :5001, real PostgreSQL/Redis."""

import base64
import json
import os
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from redis import Redis

from cloudmart_local.layout import REDIS_PORT, SERVICE_PORTS, VENV_BIN
from cloudmart_local.secrets import JWT_KEYS_DIR, service_clients, service_environment
from cloudmart_users.reset_tokens import reset_key
from tests.accounts import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.mailbox import reset_token_in_email
from tests.stack_control import notification_events, query

BASE = f"http://127.0.0.1:{SERVICE_PORTS['users']}"
STRONG = "Correct-Horse-42"


@pytest.fixture(scope="module")
def http() -> httpx.Client:
    client = httpx.Client(base_url=BASE, timeout=10)
    try:
        client.get("/health").raise_for_status()
    except httpx.HTTPError:
        pytest.exit("the users service is not running: run `make up` first", 2)
    return client


def _register(http: httpx.Client, **overrides: Any) -> dict[str, Any]:
    name = f"u{uuid.uuid4().hex[:12]}"
    body = {
        "username": name,
        "email": f"{name}@example.com",
        "password": STRONG,
        "full_name": "Test Buyer",
    } | overrides
    response = http.post("/api/users/register", json=body)
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


def _login(http: httpx.Client, username: str, password: str = STRONG) -> dict[str, Any]:
    response = http.post("/api/users/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def _auth(tokens: dict[str, Any] | str) -> dict[str, str]:
    token = tokens if isinstance(tokens, str) else tokens["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_register_login_me(http: httpx.Client) -> None:
    user = _register(http, phone="+1 555 0100", address="1 Main St")
    assert user["role"] == "customer"
    assert "password" not in json.dumps(user)
    tokens = _login(http, user["username"])
    assert (tokens["token_type"], tokens["expires_in"]) == ("bearer", 3600)
    me = http.get("/api/users/me", headers=_auth(tokens)).json()
    assert me == user | {"updated_at": me["updated_at"]}


def test_a_duplicate_username_or_email_is_409_without_saying_which(http: httpx.Client) -> None:
    user = _register(http)
    by_name = http.post(
        "/api/users/register",
        json={"username": user["username"], "email": "other@example.com", "password": STRONG},
    )
    by_email = http.post(
        "/api/users/register",
        json={
            "username": "someone_else_" + uuid.uuid4().hex[:6],
            "email": user["email"],
            "password": STRONG,
        },
    )
    assert by_name.status_code == by_email.status_code == 409
    assert by_name.json()["detail"] == by_email.json()["detail"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", "a b"),
        ("username", "ab"),
        ("email", "not-an-email"),
        ("password", "short"),
        ("password", "alllowercaseletters"),
        ("role", "admin"),
        # 31 characters: the pattern's `+` and 30 digits overflowed the 30-character column (500).
        ("phone", "+" + "1" * 30),
    ],
)
def test_bad_registrations_are_422(http: httpx.Client, field: str, value: str) -> None:
    name = f"u{uuid.uuid4().hex[:10]}"
    body = {"username": name, "email": f"{name}@example.com", "password": STRONG} | {field: value}
    response = http.post("/api/users/register", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_wrong_password_and_unknown_user_are_the_same_401(http: httpx.Client) -> None:
    user = _register(http)
    wrong = http.post("/api/users/login", json={"username": user["username"], "password": "x"})
    unknown = http.post(
        "/api/users/login", json={"username": "nobody-" + uuid.uuid4().hex, "password": STRONG}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]


def _signing_key() -> Any:
    [path] = sorted(Path(JWT_KEYS_DIR).glob("*.pem"))[-1:]
    return path.stem, serialization.load_pem_private_key(path.read_bytes(), password=None)


def _forge(user_id: int, **claims: Any) -> str:
    kid, key = _signing_key()
    now = int(time.time())
    payload = {
        "sub": str(user_id),
        "role": "customer",
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 600,
        "iss": "cloudmart-users",
        "aud": "cloudmart",
    } | claims
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


def test_bad_tokens_are_rejected_by_the_shared_verifier(http: httpx.Client) -> None:
    user = _register(http)
    good = _login(http, user["username"])["access_token"]
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    elevated = (
        base64.urlsafe_b64encode(json.dumps(claims | {"role": "admin"}).encode())
        .rstrip(b"=")
        .decode()
    )
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    bad = {
        "expired": _forge(user["id"], exp=int(time.time()) - 300, iat=int(time.time()) - 4000),
        "wrong audience": _forge(user["id"], aud="someone-else"),
        "wrong issuer": _forge(user["id"], iss="https://evil.example"),
        "tampered": f"{header}.{elevated}.{signature}",
        "alg none": f"{none_header}.{payload}.",
    }
    assert http.get("/api/users/me", headers=_auth(good)).status_code == 200
    for why, token in bad.items():
        response = http.get("/api/users/me", headers=_auth(token))
        assert response.status_code == 401, why
        assert response.headers["www-authenticate"] == "Bearer"


def test_refresh_rotates_and_reusing_an_old_token_revokes_the_session(
    http: httpx.Client,
) -> None:
    user = _register(http)
    first = _login(http, user["username"])
    second = http.post(
        "/api/users/token/refresh", json={"refresh_token": first["refresh_token"]}
    ).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert http.get("/api/users/me", headers=_auth(second)).status_code == 200
    reuse = http.post("/api/users/token/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    # The theft is assumed: the legitimate holder's newer token dies with the session.
    after = http.post("/api/users/token/refresh", json={"refresh_token": second["refresh_token"]})
    assert after.status_code == 401


def test_logout_revokes_the_refresh_token(http: httpx.Client) -> None:
    user = _register(http)
    tokens = _login(http, user["username"])
    # The session id alone (readable in the access token) ends nothing: it takes the secret.
    session_id = tokens["refresh_token"].partition(".")[0]
    forged = {"refresh_token": f"{session_id}.not-the-secret"}
    assert http.post("/api/users/logout", json=forged).status_code == 204
    assert http.get("/api/users/me", headers=_auth(tokens)).status_code == 200
    assert (
        http.post("/api/users/logout", json={"refresh_token": tokens["refresh_token"]}).status_code
        == 204
    )
    assert (
        http.post(
            "/api/users/token/refresh", json={"refresh_token": tokens["refresh_token"]}
        ).status_code
        == 401
    )


def test_a_user_cannot_read_update_or_delete_another_user(http: httpx.Client) -> None:
    alice, bob = _register(http), _register(http)
    as_alice = _auth(_login(http, alice["username"]))
    path = f"/api/users/{bob['id']}"
    assert http.get(path, headers=as_alice).status_code == 404
    assert http.put(path, headers=as_alice, json={"full_name": "Hacked"}).status_code == 404
    assert http.delete(path, headers=as_alice).status_code == 404
    assert http.get(f"/api/users/{bob['id'] + 10**9}", headers=as_alice).status_code == 404
    admin = _auth(_login(http, "admin", "admin-local-only"))
    assert http.get(path, headers=admin).json()["full_name"] == "Test Buyer"


def test_a_profile_update_cannot_set_role_or_id(http: httpx.Client) -> None:
    user = _register(http)
    headers = _auth(_login(http, user["username"]))
    path = f"/api/users/{user['id']}"
    for smuggled in ({"role": "admin"}, {"id": 1}, {"password_hash": "x"}):
        response = http.put(path, headers=headers, json={"full_name": "New"} | smuggled)
        assert response.status_code == 422, smuggled
    updated = http.put(path, headers=headers, json={"full_name": "New Name", "phone": "+44 20 1"})
    assert updated.status_code == 200
    assert (updated.json()["full_name"], updated.json()["role"]) == ("New Name", "customer")


def test_a_soft_deleted_user_cannot_log_in(http: httpx.Client) -> None:
    user = _register(http)
    tokens = _login(http, user["username"])
    assert http.delete(f"/api/users/{user['id']}", headers=_auth(tokens)).status_code == 204
    response = http.post(
        "/api/users/login", json={"username": user["username"], "password": STRONG}
    )
    assert response.status_code == 401
    assert (
        http.post(
            "/api/users/token/refresh", json={"refresh_token": tokens["refresh_token"]}
        ).status_code
        == 401
    )


def test_changing_the_password_needs_the_current_one(http: httpx.Client) -> None:
    user = _register(http)
    headers = _auth(_login(http, user["username"]))
    path = f"/api/users/{user['id']}/password"
    wrong = http.put(
        path, headers=headers, json={"current_password": "nope", "new_password": "Another-Pass-9"}
    )
    assert wrong.status_code == 403
    ok = http.put(
        path, headers=headers, json={"current_password": STRONG, "new_password": "Another-Pass-9"}
    )
    assert ok.status_code == 204
    _login(http, user["username"], "Another-Pass-9")


def _reset_token_for(email: str) -> str:
    """The token as its owner gets it: from the emailed link."""
    [(_event, headers)] = notification_events("password_reset_requested", email=email)
    assert headers["event_type"] == b"password_reset_requested"
    return reset_token_in_email(email)


def test_password_reset_tokens_are_single_use(http: httpx.Client) -> None:
    user = _register(http)
    assert http.post("/api/users/password-reset", json={"email": user["email"]}).status_code == 202
    token = _reset_token_for(user["email"])
    confirm = {"token": token, "new_password": "Reset-Pass-77"}
    assert http.post("/api/users/password-reset/confirm", json=confirm).status_code == 204
    _login(http, user["username"], "Reset-Pass-77")
    again = http.post(
        "/api/users/password-reset/confirm", json=confirm | {"new_password": "Another-Reset-88"}
    )
    assert again.status_code == 422


def test_password_reset_tokens_expire(http: httpx.Client) -> None:
    user = _register(http)
    http.post("/api/users/password-reset", json={"email": user["email"]})
    token = _reset_token_for(user["email"])
    redis = Redis(host="127.0.0.1", port=REDIS_PORT)
    redis.pexpire(reset_key(token), 1)  # the 30 minutes, fast-forwarded
    time.sleep(0.05)
    response = http.post(
        "/api/users/password-reset/confirm", json={"token": token, "new_password": "Reset-Pass-77"}
    )
    assert response.status_code == 422
    _login(http, user["username"])  # the old password still works


def test_password_reset_for_an_unknown_email_is_also_202(http: httpx.Client) -> None:
    response = http.post("/api/users/password-reset", json={"email": "ghost-nobody@example.com"})
    assert (response.status_code, response.json()) == (202, {"status": "accepted"})


def test_the_internal_user_check_takes_service_credentials_only(http: httpx.Client) -> None:
    user = _register(http)
    secret = service_clients()["orders"]
    token = http.post(
        "/api/users/oauth/token", data={"grant_type": "client_credentials"}, auth=("orders", secret)
    )
    assert token.status_code == 200, token.text
    path = f"/internal/users/{user['id']}"
    status = http.get(path, headers=_auth(token.json()["access_token"]))
    assert status.status_code == 200
    assert (status.json()["is_active"], status.json()["email"]) == (True, user["email"])
    assert http.get(path).status_code == 401
    assert http.get(path, headers=_auth(_login(http, user["username"]))).status_code == 403
    wrong = http.post(
        "/api/users/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("orders", "guess"),
    )
    assert wrong.status_code == 401


def test_the_jwks_publishes_the_signing_key(http: httpx.Client) -> None:
    keys = http.get("/api/users/.well-known/jwks.json").json()["keys"]
    kid, _ = _signing_key()
    assert kid in {key["kid"] for key in keys}
    assert all(key["kty"] == "RSA" and "d" not in key for key in keys)  # public parts only


def test_the_openapi_document_lists_every_endpoint_with_schemas(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    expected = {
        ("post", "/api/users/register"),
        ("post", "/api/users/login"),
        ("post", "/api/users/token/refresh"),
        ("post", "/api/users/logout"),
        ("get", "/api/users/.well-known/jwks.json"),
        ("post", "/api/users/oauth/token"),
        ("get", "/api/users/me"),
        ("get", "/api/users/{user_id}"),
        ("put", "/api/users/{user_id}"),
        ("delete", "/api/users/{user_id}"),
        ("put", "/api/users/{user_id}/password"),
        ("post", "/api/users/password-reset"),
        ("post", "/api/users/password-reset/confirm"),
        ("get", "/internal/users/{user_id}"),
    }
    listed = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    assert expected <= listed
    for method, path in expected:
        operation = spec["paths"][path][method]
        if method in ("post", "put") and path != "/api/users/oauth/token":
            assert "requestBody" in operation, (method, path)
        answers = operation["responses"]
        success = next(code for code in answers if code.startswith("2"))
        if success != "204":
            assert "content" in answers[success], (method, path)


def _another_admin(http: httpx.Client) -> dict[str, Any]:
    """A fresh account made admin as an operator would (no API grants the role), logged in."""
    user = _register(http)
    query("users", "UPDATE users SET role = 'admin' WHERE id = $1 RETURNING id", user["id"])
    return {"id": user["id"]} | _login(http, user["username"])


def _active_admins() -> list[int]:
    rows = query(
        "users",
        "SELECT id FROM users WHERE role = 'admin' AND is_active AND deleted_at IS NULL"
        " ORDER BY id",
    )
    return [row["id"] for row in rows]


def test_the_last_active_admin_cannot_be_deleted(http: httpx.Client) -> None:
    staff = _login(http, ADMIN_USERNAME, ADMIN_PASSWORD)
    second = _another_admin(http)
    # Two admins: either may go. The one made here goes, so `admin` is the last again.
    assert http.delete(f"/api/users/{second['id']}", headers=_auth(staff)).status_code == 204
    assert _active_admins() == [staff["user"]["id"]]
    refused = http.delete(f"/api/users/{staff['user']['id']}", headers=_auth(staff))
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"].endswith("/last-admin")
    assert _login(http, ADMIN_USERNAME, ADMIN_PASSWORD)["user"]["role"] == "admin"


def test_two_admins_deleting_each_other_at_once_leave_one_and_bootstrap_restores(
    http: httpx.Client,
) -> None:
    staff = _login(http, ADMIN_USERNAME, ADMIN_PASSWORD)
    assert _active_admins() == [staff["user"]["id"]]
    second = _another_admin(http)

    def delete(who: dict[str, Any], whom: int) -> int:
        with httpx.Client(base_url=BASE, timeout=30) as client:
            return client.delete(f"/api/users/{whom}", headers=_auth(who)).status_code

    try:
        with ThreadPoolExecutor(2) as pool:
            statuses = list(pool.map(delete, [staff, second], [second["id"], staff["user"]["id"]]))
        # One goes. The other is refused: as the last admin (409), or, when the deletion of
        # its own account committed first, because its session ended with it (401).
        assert sorted(statuses)[0] == 204
        assert sorted(statuses)[1] in (401, 409), statuses
        assert len(_active_admins()) == 1
    finally:
        # Whichever went, the bootstrap brings `admin` back, even soft-deleted and demoted.
        query(
            "users",
            "UPDATE users SET role = 'customer' WHERE username = $1 RETURNING id",
            ADMIN_USERNAME,
        )
        restored = subprocess.run(
            [str(VENV_BIN / "python"), "-m", "cloudmart_users.bootstrap_admin"],
            env={**os.environ, **service_environment("users")},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert restored.returncode == 0, restored.stderr
    assert _login(http, ADMIN_USERNAME, ADMIN_PASSWORD)["user"]["role"] == "admin"
    # Leave `admin` the only admin, as the suite found it.
    if second["id"] in _active_admins():
        admin_again = _login(http, ADMIN_USERNAME, ADMIN_PASSWORD)
        assert (
            http.delete(f"/api/users/{second['id']}", headers=_auth(admin_again)).status_code == 204
        )
