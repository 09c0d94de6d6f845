-- Journey conversions by assigned variant (the holdout included): a customer converts when they
-- order within {window_days} days after being assigned; revenue is what those orders bring.
WITH assigned AS (
  SELECT customer_id, journey, experiment, variant, min(assigned_at) AS assigned_at
  FROM assignments
  WHERE assigned_at <= {as_of}
  GROUP BY customer_id, journey, experiment, variant
), outcome AS (
  SELECT a.journey, a.experiment, a.variant, a.customer_id,
         max(CASE WHEN o.placed_at IS NOT NULL THEN 1 ELSE 0 END) AS converted,
         coalesce(sum(o.total), 0) AS revenue
  FROM assigned a
  LEFT JOIN orders o
    ON o.customer_id = a.customer_id
   AND o.placed_at > a.assigned_at
   AND date_diff('second', a.assigned_at, o.placed_at) <= {window_days} * 86400
   AND o.placed_at <= {as_of}
  GROUP BY a.journey, a.experiment, a.variant, a.customer_id
)
SELECT journey, experiment, variant, count(*) AS customers, sum(converted) AS conversions, sum(revenue) AS revenue
FROM outcome
GROUP BY journey, experiment, variant
ORDER BY journey, experiment, variant
