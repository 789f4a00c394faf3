// The mixin's settings. Override any of them with
//   (import 'mixin.libsonnet') + { _config+:: { mattermostSelector: 'job="mattermost-exporter"' } }
{
  _config+:: {
    // The label matchers (without braces) that select this exporter's series: used by every
    // alert and every dashboard query. The default keeps the job name convention of the
    // shipped files (a job name containing "mattermost": job_name mattermost, the Service
    // mattermost-exporter under the Prometheus Operator). Set it to your exporter's job(s)
    // exactly, e.g. 'job="mattermost-exporter"', or add labels, e.g.
    // 'job="mattermost", cluster="eu-1"'. '' selects by metric name only.
    mattermostSelector: 'job=~".*mattermost.*"',

    // Days before expiry at which the licence and SAML certificate alerts turn warning, then
    // critical.
    licenseWarningDays: 30,
    licenseCriticalDays: 7,
    samlCertificateWarningDays: 30,
    samlCertificateCriticalDays: 7,
    // Days before the earliest certificate of a TLS chain the exporter sees (Mattermost's URL,
    // the SAML IdP metadata URL) expires at which MattermostTLSCertificateExpiringSoon turns
    // warning, then critical (Let's Encrypt renews 30 days ahead: under 21 days its renewal
    // has failed for over a week).
    tlsCertificateWarningDays: 21,
    tlsCertificateCriticalDays: 7,

    // MattermostExporterUsersRefreshStale: the user list's last walk is older than this.
    usersRefreshStaleSeconds: 3600,
    // MattermostJobStuck: a job pending, or in progress, for longer than this many hours.
    jobStuckHours: 1,
    // MattermostAPIRateLimited: the window in which any HTTP 429 counts.
    rateLimitWindow: '5m',

    // The `for` of every alert (a name with two severities uses one duration for both). The
    // runbook (docs/runbook.md) gives the reason for each default.
    alertFor: {
      MattermostDown: '2m',
      MattermostExporterDown: '5m',
      MattermostCollectorFailing: '10m',
      MattermostClusterNodeDown: '5m',
      MattermostClusterNodesMissing: '5m',
      MattermostClusterVersionSkew: '30m',
      MattermostClusterConfigMismatch: '10m',
      MattermostSAMLCertificateMissing: '5m',
      MattermostSAMLServiceProviderCertificateMissing: '5m',
      MattermostAPIRateLimited: '15m',
      MattermostExporterUsersRefreshStale: '15m',
      MattermostDatabaseUnhealthy: '2m',
      MattermostFileStoreUnhealthy: '5m',
      MattermostLicenseExpiringSoon: '10m',
      MattermostJobFailed: '5m',
      MattermostJobStuck: '5m',
      MattermostPluginFailed: '10m',
      MattermostPluginVersionSkew: '30m',
      MattermostSAMLCertificateExpiringSoon: '10m',
      MattermostTLSCertificateExpiringSoon: '10m',
    },

    // Every alert's runbook_url is this plus '#' and the lower-cased alert name.
    runbookURL: 'https://github.com/mmexporter/mattermost_exporter/blob/main/docs/runbook.md',

    // The dashboard.
    dashboardUID: 'mattermost-exporter',
    dashboardTitle: 'Mattermost',
    dashboardTags: ['mattermost', 'mattermost_exporter'],
    dashboardRefresh: '30s',
    dashboardTimezone: '',
  },
}
