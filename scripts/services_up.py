"""Exit 0 when the PostgreSQL and Redis given on the command line answer; else print why."""

import sys

import psycopg
import redis


def main() -> int:
    pg, rd = sys.argv[1], sys.argv[2]
    ok = True
    try:
        psycopg.connect(pg.replace("postgres://", "postgresql://", 1), connect_timeout=3).close()
    except Exception as exc:
        print(f"PostgreSQL at {pg} unreachable: {exc}")
        ok = False
    try:
        redis.Redis.from_url(rd, socket_connect_timeout=3).ping()
    except Exception as exc:
        print(f"Redis at {rd} unreachable: {exc}")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
