-- Business KPIs at the end of the observation period; runs on Athena and on DuckDB.
-- Days are seconds / 86400: the engines count 'day' differences differently.
WITH seen AS (
  SELECT customer_id, placed_at, total, categories
  FROM orders
  WHERE placed_at <= {as_of}
), purchases AS (  -- a customer's orders of one day: one purchase (queries.CONVENTIONS)
  SELECT customer_id, date_trunc('day', placed_at) AS day, count(*) AS orders, sum(total) AS revenue
  FROM seen
  GROUP BY customer_id, date_trunc('day', placed_at)
), ranked AS (
  SELECT customer_id, day, orders, revenue,
         row_number() OVER (PARTITION BY customer_id ORDER BY day) AS n
  FROM purchases
), per_customer AS (
  SELECT customer_id,
         sum(orders) AS orders,
         count(*) AS purchases,
         sum(revenue) AS revenue,
         max(day) AS last_day,
         max(CASE WHEN n = 1 THEN day END) AS first_day,
         max(CASE WHEN n = 2 THEN day END) AS second_day
  FROM ranked
  GROUP BY customer_id
), categories_bought AS (
  SELECT customer_id, count(DISTINCT category) AS categories
  FROM seen CROSS JOIN UNNEST(categories) AS t (category)
  GROUP BY customer_id
)
SELECT
  count(*) AS customers,
  sum(p.orders) AS orders,
  sum(p.revenue) AS revenue,
  avg(CASE WHEN p.purchases >= 2 THEN 1.0 ELSE 0.0 END) AS repeat_purchase_rate,
  avg(date_diff('second', p.first_day, p.second_day)) / 86400.0 AS days_to_second_purchase,
  sum(p.revenue) / sum(p.orders) AS average_order_value,
  avg(p.revenue) AS lifetime_value,
  avg(CASE WHEN coalesce(c.categories, 0) >= 2 THEN 1.0 ELSE 0.0 END) AS cross_sell_rate,
  count(c.customer_id) AS customers_with_categories,
  avg(CASE WHEN date_diff('second', p.last_day, {as_of_day}) > {churn_days} * 86400 THEN 1.0 ELSE 0.0 END)
    AS churn_rate
FROM per_customer p
LEFT JOIN categories_bought c ON c.customer_id = p.customer_id
