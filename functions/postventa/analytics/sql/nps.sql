-- NPS per month of answer: promoters 9-10, passives 7-8, detractors 0-6.
SELECT date_trunc('month', answered_at) AS month,
  count(*) AS answers,
  sum(CASE WHEN score >= 9 THEN 1 ELSE 0 END) AS promoters,
  sum(CASE WHEN score BETWEEN 7 AND 8 THEN 1 ELSE 0 END) AS passives,
  sum(CASE WHEN score <= 6 THEN 1 ELSE 0 END) AS detractors
FROM surveys
WHERE answered_at <= {as_of}
GROUP BY date_trunc('month', answered_at)
ORDER BY month
