"""The demo's write load: a few orders a second on the demo source, so the task has changes to carry.

    python scripts/demo_writer.py postgresql://.../dms_demo_source

New orders with their items, status changes, now and then a cancelled order deleted. Runs until
SIGTERM or Ctrl-C; a lost connection is retried, so the source may restart under it.
"""

from __future__ import annotations

import random
import signal
import sys
import time

import psycopg

STATUSES = ("paid", "shipped", "delivered")


def one_round(conn: psycopg.Connection, chance: random.Random) -> None:
    with conn.transaction():
        order = conn.execute(
            "INSERT INTO shop.orders (customer_id, ordered_at, status) VALUES (%s, now(), 'new') RETURNING id",
            (chance.randint(1, 50),)).fetchone()[0]
        for product in chance.sample(range(1, 21), chance.randint(1, 3)):
            conn.execute("INSERT INTO shop.order_items (order_id, product_id, quantity) VALUES (%s, %s, %s)",
                         (order, product, chance.randint(1, 5)))
    conn.execute("UPDATE shop.orders SET status = %s WHERE id = (SELECT id FROM shop.orders ORDER BY random() LIMIT 1)",
                 (chance.choice(STATUSES),))
    if chance.random() < 0.1:
        with conn.transaction():
            victim = conn.execute("SELECT id FROM shop.orders ORDER BY random() LIMIT 1").fetchone()
            if victim:
                conn.execute("DELETE FROM shop.order_items WHERE order_id = %s", victim)
                conn.execute("DELETE FROM shop.orders WHERE id = %s", victim)


def main(url: str) -> int:
    running = True

    def stop(*_args) -> None:
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    chance = random.Random()
    while running:
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                while running:
                    one_round(conn, chance)
                    time.sleep(0.5)
        except psycopg.Error as exc:
            print(f"demo writer: {exc}; retrying in 5 s", flush=True)
            time.sleep(5)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
