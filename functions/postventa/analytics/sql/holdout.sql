-- Holdout validation: each calibration customer's purchase days after the calibration's last day
-- (through {until}), as days after it; orders on one day are one purchase (queries.CONVENTIONS).
WITH calibration AS (
  SELECT DISTINCT customer_id FROM orders WHERE placed_at <= {as_of}
), later AS (
  SELECT DISTINCT customer_id, date_trunc('day', placed_at) AS day
  FROM orders
  WHERE placed_at > {as_of} AND placed_at <= {until}
)
SELECT l.customer_id, date_diff('second', {as_of_day}, l.day) / 86400.0 AS days_after
FROM later l
JOIN calibration c ON c.customer_id = l.customer_id
ORDER BY l.customer_id, days_after
