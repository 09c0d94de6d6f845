-- Message KPIs per channel, journey, step and variant: counts; rates are computed over sent.
SELECT channel, journey, step, coalesce(variant, '') AS variant,
  sum(CASE WHEN status = 'sent' OR (status = 'failed' AND (reason IN ('permanent bounce', 'complaint')
      OR reason LIKE 'rejected by SES%')) THEN 1 ELSE 0 END) AS sent,
  sum(CASE WHEN delivered_at IS NOT NULL THEN 1 ELSE 0 END) AS delivered,
  sum(CASE WHEN opened_at IS NOT NULL THEN 1 ELSE 0 END) AS opened,
  sum(CASE WHEN clicked_at IS NOT NULL THEN 1 ELSE 0 END) AS clicked,
  sum(CASE WHEN unsubscribed_at IS NOT NULL THEN 1 ELSE 0 END) AS unsubscribed,
  sum(CASE WHEN status = 'failed' AND reason = 'permanent bounce' THEN 1 ELSE 0 END) AS bounced,
  sum(CASE WHEN status = 'failed' AND reason = 'complaint' THEN 1 ELSE 0 END) AS complained,
  sum(CASE WHEN status = 'suppressed' THEN 1 ELSE 0 END) AS suppressed
FROM messages
WHERE sent_at <= TIMESTAMP '{as_of}'
GROUP BY channel, journey, step, coalesce(variant, '')
ORDER BY journey, step, channel, variant
