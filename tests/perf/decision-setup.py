"""Loads the decision benchmark's catalogue and customers into a running hub, through its API.

    python3 tests/perf/decision-setup.py HUB_URL PM1_TOKEN PM2_TOKEN FEED_TOKEN \
        PROPOSITIONS PERSONAS CUSTOMERS CUSTOMERS_FILE

Called by tests/perf/decision-bench.sh. At the scale of issue 13 (1,000 propositions, 100
personas, 100,000 customers):
- six attributes of the bank's `customer_profile` dataset;
- PERSONAS personas, persona i: an age band, an income bound and a risk class or a travel habit
  (the same rules as the in-process bench, services/offers/benches/decisions.rs);
- PROPOSITIONS propositions, each drafted by one product manager, approved by another and
  published: an audience of any of two personas, a parameter schema (`amount`), two pricing
  rules and an add-on, priority 1-100 and business value 10-46;
- CUSTOMERS customers, each with a profile published by the bank (`POST
  /data/customer_profile/records`), their ids written to CUSTOMERS_FILE, one per line.

Standard library only; keep-alive connections, several threads for the customers.
"""

import http.client
import json
import random
import sys
import threading
import urllib.parse
import uuid

hub, pm1, pm2, feed = sys.argv[1:5]  # feed: the bank's client with data:publish
propositions, personas, customers = (int(a) for a in sys.argv[5:8])
customers_file = sys.argv[8]
url = urllib.parse.urlsplit(hub)


class Client:
    def __init__(self):
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)

    def call(self, method, path, token, body=None, ok=(200, 201)):
        headers = {"authorization": f"Bearer {token}"}
        data = None
        if body is not None:
            headers["content-type"] = "application/json"
            data = json.dumps(body)
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        text = resp.read()
        if resp.status not in ok:
            raise SystemExit(f"{method} {path}: {resp.status} {text[:500]!r}")
        return json.loads(text) if text else None


c = Client()
for name, kind in [
    ("age", "number"),
    ("monthly_income", "number"),
    ("risk_class", "string"),
    ("is_globetrotter", "boolean"),
    ("trips_per_year", "number"),
    ("products_held", "string_set"),
]:
    c.call("PUT", f"/offers/attributes/{name}", pm1, {
        "type": kind, "description": name,
        "source": {"dataset": "customer_profile", "pointer": f"/{name}"}})


def persona_rule(i):
    low = 18 + i % 40
    risk = ["low", "medium", "high"][(i // 3) % 3]
    third = [
        {"==": [{"var": "risk_class"}, risk]},
        {"var": "is_globetrotter"},
        {">=": [{"var": "trips_per_year"}, i % 12]},
    ][i % 3]
    return {"and": [{"<=": [low, {"var": "age"}, low + 25]},
                    {">": [{"var": "monthly_income"}, 1000 + 50 * i]},
                    third]}


for i in range(personas):
    c.call("PUT", f"/offers/personas/p{i}", pm1, {
        "title": f"Persona {i}", "description": "bench", "condition": persona_rule(i)})

for i in range(propositions):
    a, b = f"p{i % personas}", f"p{(i * 7 + 3) % personas}"
    created = c.call("POST", "/offers/propositions", pm1, {
        "name": f"Proposition {i}", "description": "bench",
        "product": {"kind": "loan", "code": f"P{i}", "name": f"Loan {i}"},
        "availability": {"audience": {"any_of": [a, b]}, "channels": ["bank_app", "web"]},
        "parameters": {"type": "object", "properties": {"amount": {"type": "number"}}},
        "pricing": {"rules": [
            {"name": "r1", "condition": {"and": [
                {"var": f"personas.{a}"}, {">": [{"var": "monthly_income"}, 5000]},
                {">": [{"var": "params.amount"}, 10000]}]}, "rate_percent": 5.3},
            {"name": "r2", "condition": {"and": [
                {"<": [{"var": "monthly_income"}, 5000]},
                {"<=": [5000, {"var": "params.amount"}, 10000]}]}, "rate_percent": 4.5}],
            "default": {"rate_percent": 7.9}},
        "add_ons": [{"name": "life", "kind": "insurance", "description": "life cover",
                     "condition": {">": [{"var": "params.amount"}, 10000]}}],
        "priority": i % 100 + 1,
        "business_value": 10 + i % 37,
    })
    pid = created["id"]
    c.call("POST", f"/offers/propositions/{pid}/versions/1/submit", pm1)
    c.call("POST", f"/offers/propositions/{pid}/versions/1/approve", pm2)
    c.call("POST", f"/offers/propositions/{pid}/versions/1/publish", pm2)

rng = random.Random(13)
ids = [str(uuid.UUID(int=(0x0190F5C2_8B1E_7C3A_9D4F_000000000000 + i))) for i in range(customers)]
profiles = [{
    "age": rng.randint(18, 80),
    "monthly_income": rng.randint(800, 12000),
    "risk_class": rng.choice(["low", "medium", "high"]),
    "is_globetrotter": rng.random() < 0.3,
    "trips_per_year": rng.randint(0, 15),
    "products_held": [f"P{rng.randrange(propositions)}" for _ in range(rng.randint(0, 3))],
} for _ in range(customers)]


failures = []


def publish(start, step):
    try:
        w = Client()
        for i in range(start, customers, step):
            stored = w.call("POST", "/data/customer_profile/records", feed, {
                "customer_id": ids[i], "records": [{"id": "profile", "data": profiles[i]}]})
            if stored["stored"] + stored["unchanged"] != 1:
                raise SystemExit(f"profile {i} not stored: {stored}")
    except BaseException as e:  # a thread's exception must fail the run
        failures.append(repr(e))


threads = [threading.Thread(target=publish, args=(t, 8)) for t in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if failures:
    raise SystemExit(f"publishing profiles failed: {failures[0]}")
with open(customers_file, "w") as f:
    f.write("\n".join(ids) + "\n")
print(f"loaded {propositions} propositions, {personas} personas, {customers} customers",
      file=sys.stderr)
