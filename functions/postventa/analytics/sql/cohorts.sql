-- Monthly cohort retention: of the customers whose first order fell in a month, the share who
-- ordered again k months later (k = 1..12).
WITH seen AS (
  SELECT customer_id, placed_at FROM orders WHERE placed_at <= {as_of}
), firsts AS (
  SELECT customer_id, date_trunc('month', min(placed_at)) AS cohort FROM seen GROUP BY customer_id
), activity AS (
  SELECT DISTINCT f.customer_id, f.cohort,
         (year(s.placed_at) - year(f.cohort)) * 12 + month(s.placed_at) - month(f.cohort) AS months_later
  FROM seen s JOIN firsts f ON f.customer_id = s.customer_id
), sizes AS (
  SELECT cohort, count(*) AS customers FROM firsts GROUP BY cohort
)
SELECT a.cohort, s.customers, a.months_later, count(*) * 1.0 / s.customers AS retained
FROM activity a JOIN sizes s ON s.cohort = a.cohort
WHERE a.months_later BETWEEN 1 AND 12
GROUP BY a.cohort, s.customers, a.months_later
ORDER BY a.cohort, a.months_later
