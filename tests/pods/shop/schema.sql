-- A small tool-based benchmark for the gold-replay tests (tests/end_to_end/tool_benchmark.rs):
-- a shop's customers and orders, read-only to the agent, changed only through three write tools
-- (SQL functions in `shop_tools`, SECURITY DEFINER) that refuse what the shop's policy forbids,
-- and one read tool; agent notes are the one table the agent may write itself (`execute`).

CREATE TABLE customers (
    id text PRIMARY KEY,
    name text NOT NULL,
    store_credit numeric(10, 2) NOT NULL DEFAULT 0
);

CREATE TABLE orders (
    id text PRIMARY KEY,
    customer_id text NOT NULL REFERENCES customers (id),
    status text NOT NULL CHECK (status IN ('pending', 'delivered', 'cancelled', 'returned')),
    total numeric(10, 2) NOT NULL,
    address text NOT NULL,
    details jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE refunds (
    order_id text NOT NULL REFERENCES orders (id),
    amount numeric(10, 2) NOT NULL,
    reason text NOT NULL
);

CREATE TABLE notes (
    order_id text NOT NULL REFERENCES orders (id),
    note text NOT NULL
);

INSERT INTO customers VALUES
    ('C1', 'Ada', 0), ('C2', 'Ben', 10.00), ('C3', 'Cai', 0), ('C4', 'Dee', 5.50);

INSERT INTO orders VALUES
    ('O1', 'C1', 'pending', 40.00, '1 Elm St', '{"items": ["lamp"]}'),
    ('O2', 'C1', 'delivered', 25.50, '1 Elm St', '{"items": ["mug", "plate"]}'),
    ('O3', 'C2', 'pending', 99.99, '2 Oak Ave', '{"items": ["chair"]}'),
    ('O4', 'C2', 'pending', 15.00, '2 Oak Ave', '{"items": ["pen"]}'),
    ('O5', 'C3', 'pending', 60.00, '3 Pine Rd', '{"items": ["kettle"]}'),
    ('O6', 'C3', 'delivered', 80.00, '3 Pine Rd', '{"items": ["boots"]}'),
    ('O7', 'C4', 'delivered', 750.00, '4 Birch Ln', '{"items": ["sofa"]}'),
    ('O8', 'C4', 'pending', 12.25, '4 Birch Ln', '{"items": ["socks"]}'),
    ('O9', 'C1', 'cancelled', 30.00, '1 Elm St', '{"items": ["vase"]}'),
    ('O10', 'C2', 'delivered', 45.00, '2 Oak Ave', '{"items": ["hat"]}'),
    ('O11', 'C3', 'pending', 70.00, '3 Pine Rd', '{"items": ["desk lamp"]}'),
    ('O12', 'C4', 'delivered', 20.00, '4 Birch Ln', '{"items": ["book"]}');

CREATE SCHEMA shop_tools;

-- Cancels a pending order: the total goes back to the customer as store credit.
CREATE FUNCTION shop_tools.cancel_order(order_id text, reason text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    target_order public.orders;
BEGIN
    SELECT * INTO target_order FROM public.orders o WHERE o.id = order_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no order %', order_id;
    END IF;
    IF target_order.status <> 'pending' THEN
        RAISE EXCEPTION 'order % is %, only a pending order can be cancelled', order_id, target_order.status;
    END IF;
    IF reason NOT IN ('no longer needed', 'ordered by mistake') THEN
        RAISE EXCEPTION 'reason must be "no longer needed" or "ordered by mistake"';
    END IF;
    UPDATE public.orders o SET status = 'cancelled',
        details = o.details || jsonb_build_object('cancel_reason', reason)
    WHERE o.id = order_id;
    UPDATE public.customers c SET store_credit = c.store_credit + target_order.total
    WHERE c.id = target_order.customer_id;
    INSERT INTO public.refunds VALUES (order_id, target_order.total, reason);
    RETURN jsonb_build_object('order_id', order_id, 'status', 'cancelled', 'refunded', target_order.total);
END
$$;
COMMENT ON FUNCTION shop_tools.cancel_order(text, text) IS
'{"description": "Cancel a pending order; its total is refunded as store credit.",
  "parameters": {"order_id": "the order, like O1", "reason": "no longer needed, or ordered by mistake"}}';

-- Returns a delivered order. It writes first and checks the limit last, so a refused return is
-- a failed call whose earlier writes must not survive.
CREATE FUNCTION shop_tools.return_order(order_id text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    target_order public.orders;
BEGIN
    SELECT * INTO target_order FROM public.orders o WHERE o.id = order_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no order %', order_id;
    END IF;
    IF target_order.status <> 'delivered' THEN
        RAISE EXCEPTION 'order % is %, only a delivered order can be returned', order_id, target_order.status;
    END IF;
    UPDATE public.orders o SET status = 'returned' WHERE o.id = order_id;
    UPDATE public.customers c SET store_credit = c.store_credit + target_order.total
    WHERE c.id = target_order.customer_id;
    INSERT INTO public.refunds VALUES (order_id, target_order.total, 'returned');
    IF target_order.total > 500 THEN
        RAISE EXCEPTION 'order % is over 500: a return needs a human', order_id;
    END IF;
    RETURN jsonb_build_object('order_id', order_id, 'status', 'returned', 'refunded', target_order.total);
END
$$;
COMMENT ON FUNCTION shop_tools.return_order(text) IS
'{"description": "Return a delivered order of 500 or less; its total is refunded as store credit.",
  "parameters": {"order_id": "the order, like O2"}}';

-- Changes where a pending order goes.
CREATE FUNCTION shop_tools.update_address(order_id text, address text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF length(trim(address)) = 0 THEN
        RAISE EXCEPTION 'the address is empty';
    END IF;
    UPDATE public.orders o SET address = update_address.address
    WHERE o.id = order_id AND o.status = 'pending';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'order % is not a pending order', order_id;
    END IF;
    RETURN jsonb_build_object('order_id', order_id, 'address', address);
END
$$;
COMMENT ON FUNCTION shop_tools.update_address(text, text) IS
'{"description": "Change the address of a pending order.",
  "parameters": {"order_id": "the order, like O1", "address": "the new address"}}';

-- The one read tool: an order with its customer.
CREATE FUNCTION shop_tools.get_order(order_id text) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT to_jsonb(o) || jsonb_build_object('customer', to_jsonb(c))
    FROM public.orders o JOIN public.customers c ON c.id = o.customer_id
    WHERE o.id = order_id
$$;
COMMENT ON FUNCTION shop_tools.get_order(text) IS
'{"description": "An order and its customer.", "parameters": {"order_id": "the order, like O1"}}';
