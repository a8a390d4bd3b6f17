"""An SQLAlchemy service that adds an event listener per request: each
request's audit object subscribes its bound method to the engine's
before_cursor_execute event and never removes it, so the engine's
dispatch keeps every RequestAudit (and what it recorded) alive."""

from sqlalchemy import create_engine, event, text

from _harness import run

engine = create_engine("sqlite://")
with engine.begin() as conn:
    conn.execute(text("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, total REAL)"))
    conn.execute(text("INSERT INTO orders (customer, total) VALUES ('ada', 12.5), ('bob', 7.25)"))


class RequestAudit:
    def __init__(self, request_id):
        self.request_id = request_id
        self.statements = []
        self.context = {"user": "user-%d" % request_id, "trace": "x" * 400}

    def on_execute(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)


def handle(request_id):
    audit = RequestAudit(request_id)
    event.listen(engine, "before_cursor_execute", audit.on_execute)   # the leak: never removed
    with engine.connect() as conn:
        conn.execute(text("SELECT sum(total) FROM orders WHERE customer = :c"), {"c": "ada"}).scalar()


if __name__ == "__main__":
    run(handle)
