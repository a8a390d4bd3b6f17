"""A pydantic service that keeps every validated order in a module-level
list ("for auditing"), one per request."""

from pydantic import BaseModel

from _harness import run


class Order(BaseModel):
    id: int
    customer: str
    items: list[str]
    total: float


HISTORY = []


def handle(request_id):
    payload = {"id": request_id, "customer": "customer-%d" % request_id,
               "items": ["sku-%d-%d" % (request_id, k) for k in range(5)], "total": "12.50"}
    HISTORY.append(Order.model_validate(payload))   # the leak


if __name__ == "__main__":
    run(handle)
