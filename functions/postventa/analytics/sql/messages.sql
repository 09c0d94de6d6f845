-- Message KPIs per channel, journey, step and variant: counts; rates are computed over sent.
SELECT channel, journey, step, coalesce(variant, '') AS variant,
  sum(CASE WHEN status = 'sent' OR (status = 'failed' AND (reason IN ('permanent bounce', 'complaint')
      OR reason LIKE 'rejected by SES%' OR reason LIKE 'sms: %')) THEN 1 ELSE 0 END) AS sent,
  sum(CASE WHEN delivered_at IS NOT NULL THEN 1 ELSE 0 END) AS delivered,
  sum(CASE WHEN opened_at IS NOT NULL THEN 1 ELSE 0 END) AS opened,
  sum(CASE WHEN clicked_at IS NOT NULL THEN 1 ELSE 0 END) AS clicked,
  sum(CASE WHEN unsubscribed_at IS NOT NULL THEN 1 ELSE 0 END) AS unsubscribed,
  sum(CASE WHEN status = 'failed' AND reason = 'permanent bounce' THEN 1 ELSE 0 END) AS bounced,
  sum(CASE WHEN status = 'failed' AND reason = 'complaint' THEN 1 ELSE 0 END) AS complained,
  sum(CASE WHEN status = 'suppressed' THEN 1 ELSE 0 END) AS suppressed
FROM (
  -- the stream archives a message again on each change (delivered, opened...): its latest version
  SELECT *, row_number() OVER (PARTITION BY message_id ORDER BY recorded_at DESC) AS version
  FROM messages
) AS latest
WHERE version = 1 AND sent_at <= {as_of}
GROUP BY channel, journey, step, coalesce(variant, '')
ORDER BY journey, step, channel, variant
