-- One row per customer: what the value models, RFM and recommendations need, in whole days
-- (queries.CONVENTIONS): orders on one (UTC) day are one purchase, a split checkout is one visit,
-- not a repeat; ages run from the first purchase day to the last day observed.
WITH seen AS (
  SELECT customer_id, placed_at, total, products FROM orders WHERE placed_at <= {as_of}
), visits AS (
  SELECT customer_id, date_trunc('day', placed_at) AS day, sum(total) AS total
  FROM seen
  GROUP BY customer_id, date_trunc('day', placed_at)
), ranked AS (
  SELECT customer_id, day, total, row_number() OVER (PARTITION BY customer_id ORDER BY day) AS n
  FROM visits
), bought AS (
  SELECT customer_id, array_join(array_agg(DISTINCT product), '|') AS products
  FROM seen CROSS JOIN UNNEST(products) AS t (product)
  GROUP BY customer_id
)
SELECT
  r.customer_id,
  count(*) - 1 AS repeat_purchases,
  date_diff('second', min(r.day), max(r.day)) / 86400.0 AS last_purchase_age,
  date_diff('second', min(r.day), {as_of_day}) / 86400.0 AS customer_age,
  coalesce(sum(CASE WHEN r.n > 1 THEN r.total END) / nullif(count(*) - 1, 0), 0) AS repeat_mean_spend,
  max(CASE WHEN r.n = 1 THEN r.total END) AS first_spend,
  sum(r.total) AS spend,
  coalesce(max(b.products), '') AS products
FROM ranked r
LEFT JOIN bought b ON b.customer_id = r.customer_id
GROUP BY r.customer_id
ORDER BY r.customer_id
