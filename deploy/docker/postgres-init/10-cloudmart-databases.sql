-- docker-compose only (LOCAL ONLY credentials): one role and one database per service that
-- owns PostgreSQL data, like `make up` (local/src/cloudmart_local/prepare.py). The passwords
-- are cloudmart_common.settings.local_database_password(<name>): "<name>-local-only".
-- Run once by the postgres image, on an empty data directory, as the superuser.
CREATE ROLE "users" LOGIN PASSWORD 'users-local-only';
CREATE DATABASE "users" OWNER "users";
REVOKE ALL ON DATABASE "users" FROM PUBLIC;

CREATE ROLE "orders" LOGIN PASSWORD 'orders-local-only';
CREATE DATABASE "orders" OWNER "orders";
REVOKE ALL ON DATABASE "orders" FROM PUBLIC;

CREATE ROLE "payments" LOGIN PASSWORD 'payments-local-only';
CREATE DATABASE "payments" OWNER "payments";
REVOKE ALL ON DATABASE "payments" FROM PUBLIC;
