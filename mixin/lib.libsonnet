// Helpers shared by the alerts and the dashboard.
{
  // matchers joins label matchers with commas, leaving out empty ones (an empty
  // mattermostSelector must not leave a stray comma).
  matchers(list):: std.join(',', [m for m in list if m != '']),

  // series is a metric name with the selector and any further matchers in braces.
  series(metric, selector, extra=[]):: metric + '{' + self.matchers([selector] + extra) + '}',

  // durationText turns a Prometheus duration of whole minutes or hours ('2m', '1h') into
  // words for an alert's description.
  durationText(d)::
    local n = std.parseInt(std.substr(d, 0, std.length(d) - 1));
    local unit = std.substr(d, std.length(d) - 1, 1);
    local word = { m: 'minute', h: 'hour', d: 'day' }[unit];
    '%d %s%s' % [n, word, if n == 1 then '' else 's'],

  // durationAdjective turns '5m' into '5-minute'.
  durationAdjective(d)::
    local n = std.parseInt(std.substr(d, 0, std.length(d) - 1));
    local unit = std.substr(d, std.length(d) - 1, 1);
    '%d-%s' % [n, { m: 'minute', h: 'hour', d: 'day' }[unit]],

  // hoursText: 'an hour', '3 hours'.
  hoursText(h):: if h == 1 then 'an hour' else '%d hours' % h,
}
