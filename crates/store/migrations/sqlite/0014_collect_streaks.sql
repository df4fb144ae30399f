-- Collecting streaks: per user and local day, how many days in a row the user had collected
-- energy by then (usage action 'collect_streak', the count in `actions`). The writer keeps it
-- on each first take of a day, so the 7-day streak task reads one row instead of seven. Rows
-- for the days already played are derived here from the 'collected' totals per day:
-- consecutive days form one run, and a day's streak is its place in its run.
INSERT INTO usage (user_id, action, period, actions, quantity_milli, grams)
SELECT user_id, 'collect_streak', period,
       row_number() OVER (PARTITION BY user_id, run ORDER BY period), 0, 0
FROM (
    SELECT user_id, period,
           julianday(period) - row_number() OVER (PARTITION BY user_id ORDER BY period) AS run
    FROM usage
    WHERE action = 'collected' AND actions > 0
      AND period GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'
);
