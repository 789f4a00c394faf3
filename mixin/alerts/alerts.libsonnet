// The alerting rules. Every expression selects the exporter's series with
// _config.mattermostSelector; thresholds and `for` durations come from _config.
local lib = import '../lib.libsonnet';

{
  prometheusAlerts+:: {
    local c = $._config,
    local s(metric, extra=[]) = lib.series(metric, c.mattermostSelector, extra),
    local forText(name) = lib.durationText(c.alertFor[name]),
    local rule(name, severity, expr, summary, description) = {
      alert: name,
      expr: expr,
      'for': c.alertFor[name],
      labels: { severity: severity },
      annotations: {
        summary: summary,
        description: description,
        runbook_url: c.runbookURL + '#' + std.asciiLower(name),
      },
    },
    local days = 86400,
    // The description of MattermostTLSCertificateExpiringSoon, with when (a template) it expires.
    local tlsDescription(when) =
      'The TLS certificate chain {{ if eq $labels.endpoint "idp_metadata" }}of the SAML IdP metadata URL{{ else }}of Mattermost{{ end }}, '
      + 'as seen by {{ $labels.instance }}, %s (its earliest certificate, leaf or intermediate). ' % when
      + 'Once it has expired, {{ if eq $labels.endpoint "idp_metadata" }}the IdP metadata cannot be fetched{{ else }}browsers, apps and integrations refuse to connect{{ end }}.',

    groups+: [
      {
        // The exporter itself: can Prometheus scrape it, can it do its work.
        name: 'mattermost-exporter',
        rules: [
          // `or on()` adds the absent() case only when no target is down: one alert per
          // target down, or one alert without labels when no exporter series exists at all.
          // absent() looks at mattermost_up, which only this exporter exports: another job
          // whose name matches the selector (Mattermost's own /metrics, say) cannot hide a
          // missing exporter.
          rule(
            'MattermostExporterDown', 'warning',
            '%s == 0 or on() absent(%s)' % [s('up'), s('mattermost_up')],
            'mattermost_exporter cannot be scraped.',
            '{{ if $labels.instance }}Prometheus could not scrape {{ $labels.instance }} (job {{ $labels.job }}) for %s.' % forText('MattermostExporterDown')
            + '{{ else }}Prometheus has no mattermost_up series matching {' + c.mattermostSelector + '}: no exporter is scraped, or its job does not match the selector.{{ end }}'
            + ' Every other Mattermost alert is blind while this lasts.',
          ),
          rule(
            'MattermostCollectorFailing', 'warning',
            '%s == 0 unless on(job, instance) %s == 0' % [s('mattermost_exporter_collector_success'), s('mattermost_up')],
            'A mattermost_exporter collector is failing.',
            'The {{ $labels.collector }} collector of {{ $labels.instance }} has failed on every scrape for %s while Mattermost itself answers. ' % forText('MattermostCollectorFailing')
            + "Its metrics are missing or stale. The exporter's log names the error (often HTTP 403: the token lacks a role).",
          ),
          rule(
            'MattermostAPIRateLimited', 'warning',
            'sum without (endpoint, code) (increase(%s[%s])) > 0' % [s('mattermost_exporter_api_requests_total', ['code="429"', 'endpoint!="users"']), c.rateLimitWindow],
            'Mattermost is rate limiting the exporter.',
            'Mattermost answered the scrape-time requests of the exporter {{ $labels.instance }} with HTTP 429 in every %s window for %s ({{ $value | humanize }} in the last %s). '
            % [lib.durationAdjective(c.rateLimitWindow), forText('MattermostAPIRateLimited'), lib.durationText(c.rateLimitWindow)]
            + 'Counts may be stale and the exporter shares the limit with other clients.',
          ),
          rule(
            'MattermostExporterUsersRefreshStale', 'warning',
            'time() - %s > %d unless on(job, instance) %s == 0' % [s('mattermost_exporter_users_refresh_timestamp_seconds'), c.usersRefreshStaleSeconds, s('mattermost_up')],
            'mattermost_exporter has not refreshed its user list for over %s.' % lib.hoursText(c.usersRefreshStaleSeconds / 3600),
            'The exporter {{ $labels.instance }} last completed its walk of the user list {{ $value | humanizeDuration }} ago. '
            + 'New and deactivated users are not reflected in mattermost_users.',
          ),
        ],
      },
      {
        // The Mattermost server behind the exporter: API, health, licence, jobs, plugins.
        name: 'mattermost-server',
        rules: [
          rule(
            'MattermostDown', 'critical',
            '%s == 0' % s('mattermost_up'),
            'Mattermost API is not answering.',
            "The exporter {{ $labels.instance }} (job {{ $labels.job }}) could not get an answer from Mattermost's /api/v4/system/ping for %s: " % forText('MattermostDown')
            + 'Mattermost is down, unhealthy or unreachable from the exporter.',
          ),
          rule(
            'MattermostDatabaseUnhealthy', 'critical',
            '%s == 0' % s('mattermost_health_status', ['component="database"']),
            'Mattermost cannot write to its database.',
            "Mattermost's own health check, seen through {{ $labels.instance }}, has failed to write to and delete from its database for %s: " % forText('MattermostDatabaseUnhealthy')
            + 'posting, logins and most API calls fail.',
          ),
          rule(
            'MattermostFileStoreUnhealthy', 'critical',
            '%s == 0' % s('mattermost_health_status', ['component="filestore"']),
            'Mattermost cannot reach its file store.',
            "Mattermost's own health check, seen through {{ $labels.instance }}, has failed to connect to its file store (local directory or S3) for %s: " % forText('MattermostFileStoreUnhealthy')
            + 'uploads, attachments, images and plugin installs fail.',
          ),
          // Two rules, one name: warning from licenseWarningDays before expiry, critical from
          // licenseCriticalDays (and once expired). Only exported when the token may read the
          // license dates (system admin).
          rule(
            'MattermostLicenseExpiringSoon', 'warning',
            '%(m)s - time() < %(w)d * %(d)d and %(m)s - time() >= %(c)d * %(d)d'
            % { m: s('mattermost_license_expiry_timestamp_seconds'), w: c.licenseWarningDays, c: c.licenseCriticalDays, d: days },
            'Mattermost license expires in less than %d days.' % c.licenseWarningDays,
            'The Mattermost license seen through {{ $labels.instance }} expires in {{ $value | humanizeDuration }}. '
            + 'Without a renewal, Enterprise features (SAML, clustering, LDAP, compliance) stop when it expires.',
          ),
          rule(
            'MattermostLicenseExpiringSoon', 'critical',
            '%s - time() < %d * %d' % [s('mattermost_license_expiry_timestamp_seconds'), c.licenseCriticalDays, days],
            'Mattermost license expires in less than %d days.' % c.licenseCriticalDays,
            'The Mattermost license seen through {{ $labels.instance }} {{ if lt $value 0.0 }}has expired{{ else }}expires in {{ $value | humanizeDuration }}{{ end }}. '
            + 'Without a renewal, Enterprise features (SAML, clustering, LDAP, compliance) stop when it expires.',
          ),
          rule(
            'MattermostJobFailed', 'warning',
            '%s == 1' % s('mattermost_job_last_status', ['status="error"']),
            'A Mattermost job failed.',
            'The newest {{ $labels.type }} job of Mattermost, seen through {{ $labels.instance }}, ended in error. '
            + 'The System Console (Jobs of that feature) shows its error; the job runs again at its next schedule.',
          ),
          // A pending job waiting over jobStuckHours, or the newest job of a type in progress at
          // every scrape of the last jobStuckHours (and already that long ago: a series younger
          // than the window, after an exporter restart, does not count).
          rule(
            'MattermostJobStuck', 'warning',
            '%(pending)s > %(sec)d or (min_over_time(%(inprog)s[%(h)dh]) == 1 and %(inprog)s offset %(h)dh == 1)'
            % {
              pending: s('mattermost_job_oldest_pending_age_seconds'),
              inprog: s('mattermost_job_last_status', ['status="in_progress"']),
              sec: c.jobStuckHours * 3600,
              h: c.jobStuckHours,
            },
            'A Mattermost job is stuck.',
            'A {{ $labels.type }} job of Mattermost, seen through {{ $labels.instance }}, has been {{ if $labels.status }}in progress{{ else }}pending{{ end }} for over %s: ' % lib.hoursText(c.jobStuckHours)
            + 'no job server picks it up, or it hangs.',
          ),
          rule(
            'MattermostPluginFailed', 'warning',
            '%s > 0' % s('mattermost_plugin_nodes', ['state=~"failed_to_start|failed_to_stay_running"']),
            'A Mattermost plugin is not running.',
            'On {{ $value }} node(s) of the Mattermost seen through {{ $labels.instance }}, the plugin {{ $labels.plugin_id }} is in state {{ $labels.state }} for %s: ' % forText('MattermostPluginFailed')
            + 'its features are unavailable there.',
          ),
          rule(
            'MattermostPluginVersionSkew', 'warning',
            '%s > 1' % s('mattermost_plugin_versions'),
            'Mattermost nodes run different versions of a plugin.',
            'The nodes of the Mattermost seen through {{ $labels.instance }} report {{ $value }} different versions of the plugin {{ $labels.plugin_id }} for %s, ' % forText('MattermostPluginVersionSkew')
            + 'longer than a plugin upgrade takes to reach every node.',
          ),
          // Two rules, one name: warning from tlsCertificateWarningDays before the earliest
          // certificate of the presented chain (leaf or intermediate) expires, critical from
          // tlsCertificateCriticalDays (and once expired). endpoint="mattermost" is the chain
          // Mattermost's URL presents, endpoint="idp_metadata" the SAML IdP metadata server's
          // (exported while SAML is enabled).
          rule(
            'MattermostTLSCertificateExpiringSoon', 'warning',
            '%(m)s - time() < %(w)d * %(d)d and %(m)s - time() >= %(c)d * %(d)d'
            % { m: s('mattermost_tls_certificate_expiry_timestamp_seconds'), w: c.tlsCertificateWarningDays, c: c.tlsCertificateCriticalDays, d: days },
            'A TLS certificate expires in less than %d days.' % c.tlsCertificateWarningDays,
            tlsDescription('expires in {{ $value | humanizeDuration }}'),
          ),
          rule(
            'MattermostTLSCertificateExpiringSoon', 'critical',
            '%s - time() < %d * %d' % [s('mattermost_tls_certificate_expiry_timestamp_seconds'), c.tlsCertificateCriticalDays, days],
            'A TLS certificate expires in less than %d days.' % c.tlsCertificateCriticalDays,
            tlsDescription('{{ if lt $value 0.0 }}has expired{{ else }}expires in {{ $value | humanizeDuration }}{{ end }}'),
          ),
        ],
      },
      {
        name: 'mattermost-cluster',
        rules: [
          rule(
            'MattermostClusterNodeDown', 'critical',
            '%s == 0' % s('mattermost_cluster_node_up'),
            'A Mattermost cluster node is unreachable.',
            'The Mattermost cluster seen through {{ $labels.instance }} lists node {{ $labels.id }} without version or address: '
            + 'the other nodes cannot reach it over the cluster gossip, for %s.' % forText('MattermostClusterNodeDown'),
          ),
          rule(
            'MattermostClusterNodesMissing', 'critical',
            '%s < %s' % [s('mattermost_cluster_nodes'), s('mattermost_cluster_expected_nodes')],
            'Mattermost cluster has fewer nodes than expected.',
            'The Mattermost cluster seen through {{ $labels.instance }} lists {{ $value }} nodes'
            + '{{ with printf "mattermost_cluster_expected_nodes{job=%q,instance=%q}" $labels.job $labels.instance | query }} of the {{ . | first | value }} expected{{ end }}'
            + ' (--collector.cluster.expected-nodes), for ' + forText('MattermostClusterNodesMissing') + '.',
          ),
          rule(
            'MattermostClusterVersionSkew', 'warning',
            '%s > 1' % s('mattermost_cluster_versions'),
            'Mattermost cluster nodes run different versions.',
            'The reachable nodes of the Mattermost cluster seen through {{ $labels.instance }} report {{ $value }} different versions for %s, ' % forText('MattermostClusterVersionSkew')
            + 'longer than a rolling upgrade takes.',
          ),
          rule(
            'MattermostClusterConfigMismatch', 'warning',
            '%s > 1 unless on(job, instance) %s > 1' % [s('mattermost_cluster_config_hashes'), s('mattermost_cluster_versions')],
            'Mattermost cluster nodes run different configurations.',
            'The reachable nodes of the Mattermost cluster seen through {{ $labels.instance }} report {{ $value }} different configuration hashes for %s ' % forText('MattermostClusterConfigMismatch')
            + 'while they all run the same version.',
          ),
        ],
      },
      {
        name: 'mattermost-saml',
        rules: [
          rule(
            'MattermostSAMLCertificateMissing', 'critical',
            '%s == 0 and on(job, instance) %s == 1' % [s('mattermost_saml_certificate_present', ['certificate="idp"']), s('mattermost_saml_enabled')],
            'SAML is enabled but the IdP certificate is missing.',
            'Mattermost behind {{ $labels.instance }} has SAML enabled but its identity provider certificate file is missing, for %s: SAML logins fail.' % forText('MattermostSAMLCertificateMissing'),
          ),
          rule(
            'MattermostSAMLServiceProviderCertificateMissing', 'warning',
            '%s == 0 and on(job, instance) %s == 1' % [s('mattermost_saml_certificate_present', ['certificate=~"public|private_key"']), s('mattermost_saml_enabled')],
            'SAML is enabled but a service provider certificate file is missing.',
            'Mattermost behind {{ $labels.instance }} has SAML enabled but its service provider {{ $labels.certificate }} file is missing, for %s. ' % forText('MattermostSAMLServiceProviderCertificateMissing')
            + "It is required when SAML encryption (Mattermost's default) or request signing is on.",
          ),
          // Two rules, one name: warning from samlCertificateWarningDays before expiry, critical
          // from samlCertificateCriticalDays (and once expired). certificate="public" is
          // Mattermost's service provider certificate, certificate="idp" the IdP's earliest
          // signing certificate (exported while SAML is enabled).
          rule(
            'MattermostSAMLCertificateExpiringSoon', 'warning',
            '%(m)s - time() < %(w)d * %(d)d and %(m)s - time() >= %(c)d * %(d)d'
            % { m: s('mattermost_saml_certificate_expiry_timestamp_seconds'), w: c.samlCertificateWarningDays, c: c.samlCertificateCriticalDays, d: days },
            'A SAML certificate expires in less than %d days.' % c.samlCertificateWarningDays,
            'The SAML {{ $labels.certificate }} certificate of the Mattermost seen through {{ $labels.instance }} expires in {{ $value | humanizeDuration }}. '
            + 'Once it has expired, SAML logins fail.',
          ),
          rule(
            'MattermostSAMLCertificateExpiringSoon', 'critical',
            '%s - time() < %d * %d' % [s('mattermost_saml_certificate_expiry_timestamp_seconds'), c.samlCertificateCriticalDays, days],
            'A SAML certificate expires in less than %d days.' % c.samlCertificateCriticalDays,
            'The SAML {{ $labels.certificate }} certificate of the Mattermost seen through {{ $labels.instance }} {{ if lt $value 0.0 }}has expired{{ else }}expires in {{ $value | humanizeDuration }}{{ end }}. '
            + 'Once it has expired, SAML logins fail.',
          ),
        ],
      },
    ],
  },
}
