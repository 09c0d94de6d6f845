-- Revenue attributed by click: an order belongs to the last message the customer clicked in the
-- {click_days} days before it (last click, as the shop's own analytics reads the links' utm_* tags).
WITH latest AS (
  -- the stream archives a message again on each change (delivered, opened...): its latest version
  SELECT *, row_number() OVER (PARTITION BY message_id ORDER BY recorded_at DESC) AS version
  FROM messages
), clicks AS (
  SELECT customer_id, journey, step, channel, clicked_at
  FROM latest
  WHERE version = 1 AND clicked_at IS NOT NULL AND clicked_at <= {as_of}
), attributed AS (
  SELECT c.journey, c.step, c.channel, o.total,
         row_number() OVER (PARTITION BY o.customer_id, o.order_id ORDER BY c.clicked_at DESC) AS recent
  FROM orders o
  JOIN clicks c
    ON c.customer_id = o.customer_id
   AND o.placed_at > c.clicked_at
   AND date_diff('second', c.clicked_at, o.placed_at) <= {click_days} * 86400
  WHERE o.placed_at <= {as_of}
)
SELECT journey, step, channel, count(*) AS orders, sum(total) AS revenue
FROM attributed
WHERE recent = 1
GROUP BY journey, step, channel
ORDER BY journey, step, channel
